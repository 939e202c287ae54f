"""``linkbase graph neighbors`` and ``linkbase graph paths``: the native graph queries.

Both print the server's answer (JSON or YAML with ``--format``); with ``--format=uuid`` (``-s``)
``neighbors`` prints one object uuid per line, nearest first, and ``paths`` one path per line
(its objects separated by spaces), so the results feed ``xargs`` and ``while read``.
"""

from __future__ import annotations

from typing import Any

import typer

from linkbase.cli.commands import Command, new_app
from linkbase.cli.output import OutputFormat, emit, flush, state, write

_DIRECTION_HELP = "out: follow links tail to head; in: head to tail; both: either way."
_CLASS_HELP = "Follow only links of this class (repeat for several)."

graph_app = new_app(
    help="Graph queries over links: neighbourhoods and paths (only what you can read).",
    no_args_is_help=True,
)


def _emit(ctx: typer.Context, result: dict[str, Any], lines: list[str]) -> None:
    if state(ctx).format is OutputFormat.uuid:
        write("".join(f"{line}\n" for line in lines))
        flush()
    else:
        emit(ctx, result)


@graph_app.command("neighbors", cls=Command)
def neighbors(
    ctx: typer.Context,
    uuid: str = typer.Argument(..., help="The object to start from.", show_default=False),
    depth: int = typer.Option(1, "--depth", min=1, max=3, help="Hops from the object."),
    direction: str = typer.Option("both", "--direction", help=_DIRECTION_HELP),
    link_class: list[str] = typer.Option([], "--link-class", "--link_class", help=_CLASS_HELP,
                                         show_default=False),
    limit: int | None = typer.Option(None, "--limit", min=1, max=1000,
                                     help="Most objects returned (server default 200)."),
) -> None:
    """The objects within --depth links of UUID, with the links between them.

    Each object carries its distance ("depth"), kind and name; "truncated" is true when there
    were more than --limit.

    [b]Examples[/b]

      $ linkbase graph neighbors zzzzz-j7d0g-fffffffffffffff
      $ linkbase -s graph neighbors --depth 2 --link-class relation UUID
    """
    client = state(ctx).client()
    result = client.graph_neighbors(uuid, depth=depth, direction=direction,
                                    link_classes=link_class, limit=limit)
    _emit(ctx, result, [str(n["uuid"]) for n in result.get("nodes", [])])


@graph_app.command("paths", cls=Command)
def paths(
    ctx: typer.Context,
    source: str = typer.Argument(..., metavar="FROM", help="Where paths start.",
                                 show_default=False),
    target: str = typer.Argument(..., metavar="TO", help="Where paths end.", show_default=False),
    max_depth: int = typer.Option(3, "--max-depth", "--max_depth", min=1, max=4,
                                  help="Longest path, in links."),
    direction: str = typer.Option("both", "--direction", help=_DIRECTION_HELP),
    link_class: list[str] = typer.Option([], "--link-class", "--link_class", help=_CLASS_HELP,
                                         show_default=False),
    limit: int | None = typer.Option(None, "--limit", min=1, max=100,
                                     help="Most paths returned (server default 10)."),
) -> None:
    """The simple paths of links from FROM to TO, shortest first.

    Each path lists its objects ("nodes") and the links between them; "nodes" and "edges"
    describe them by kind and name.

    [b]Examples[/b]

      $ linkbase graph paths --max-depth 2 UUID1 UUID2
      $ linkbase -s graph paths --direction out UUID1 UUID2
    """
    client = state(ctx).client()
    result = client.graph_paths(source, target, max_depth=max_depth, direction=direction,
                                link_classes=link_class, limit=limit)
    _emit(ctx, result, [" ".join(p["nodes"]) for p in result.get("paths", [])])


def register(app: typer.Typer) -> None:
    """Add the ``graph`` command group."""
    app.add_typer(graph_app, name="graph")
