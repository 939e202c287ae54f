"""``linkbase watch`` (changes as they happen) and ``linkbase logs`` (the audit log).

``watch`` prints one change per line as compact JSON (the Arvados log entry plus its
``cursor``), flushed at once, so it pipes into ``jq`` or ``while read``; with ``-s`` it prints
``CURSOR EVENT_TYPE OBJECT_UUID``. It reconnects by itself, resuming after the last change
printed; ``--after CURSOR`` resumes a previous run.
"""

from __future__ import annotations

import orjson
import typer

from linkbase.cli.commands import Command, new_app
from linkbase.cli.output import OutputFormat, emit, flush, parse_json_array, state, write

logs_app = new_app(help="The audit log: who changed what, and when.", no_args_is_help=True)


def watch(
    ctx: typer.Context,
    filters: str | None = typer.Option(
        None, "--filters", help='Log filters (JSON), e.g. \'[["event_type", "=", "delete"]]\' '
        "or '[[\"object_uuid\", \"=\", UUID]]'.", show_default=False),
    after: str | None = typer.Option(
        None, "--after", help="Resume after this cursor (printed with every change); "
        "default: from now on.", show_default=False),
) -> None:
    """Print the changes you can see as they happen, until interrupted.

    [b]Examples[/b]

      $ linkbase watch
      $ linkbase watch --filters '[["object_uuid", "is_a", "arvados#link"]]' | jq .summary
      $ linkbase -s watch --after 1234
    """
    parsed = parse_json_array(filters, "--filters") if filters is not None else None
    short = state(ctx).format is OutputFormat.uuid
    client = state(ctx).client()
    try:
        for change in client.watch(after=after, filters=parsed):
            if short:
                write(f"{change['cursor']} {change['event_type']} {change['object_uuid']}\n")
            else:
                write(orjson.dumps(change).decode() + "\n")
            flush()
    except KeyboardInterrupt:
        pass


@logs_app.command("prune", cls=Command)
def prune(
    ctx: typer.Context,
    before: str = typer.Option(..., "--before", help="Delete entries recorded before this "
                               "time (ISO 8601, e.g. 2026-01-01 or 2026-01-01T00:00:00Z).",
                               show_default=False),
) -> None:
    """Delete audit log entries older than --before (admin token required).

    [b]Example[/b]

      $ linkbase logs prune --before 2026-01-01
    """
    emit(ctx, state(ctx).client().prune_logs(before))


@logs_app.command("list", cls=Command)
def list_changes(
    ctx: typer.Context,
    filters: str | None = typer.Option(None, "--filters", help="Log filters (JSON).",
                                       show_default=False),
    after: str | None = typer.Option(None, "--after", help="Start after this cursor.",
                                     show_default=False),
    limit: int | None = typer.Option(None, "--limit", min=1, max=1000,
                                     help="Most entries (server default 100)."),
) -> None:
    """One page of the log entries you can read, oldest first, and the cursor after it."""
    parsed = parse_json_array(filters, "--filters") if filters is not None else None
    emit(ctx, state(ctx).client().changes(after=after, filters=parsed, limit=limit))


def register(app: typer.Typer) -> None:
    """Add ``watch`` and the ``logs`` group."""
    app.command("watch", cls=Command)(watch)
    app.add_typer(logs_app, name="logs")
