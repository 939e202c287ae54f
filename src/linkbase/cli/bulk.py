"""Bulk transfer of links: ``linkbase export`` and ``linkbase import``.

Export pages with keysets on ``(created_at, uuid)`` so a concurrent writer can neither make it
skip nor repeat a link, and writes one JSON object per line with sorted keys: the format is
stable, diffable and exactly what import reads.

Import sends batches to ``POST /linkbase/v1/links/batch``. A batch is all-or-nothing on the
server; when it names bad lines, the CLI reports them (line number and reason), drops them and
resends the rest, unless ``--strict``. Lines carrying a ``uuid`` that already exists are skipped
by default (``--on-duplicate ignore``), which makes an interrupted import safe to re-run: it
resumes without duplicates.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import typer
from rich.markup import escape

from linkbase.cli.commands import Command
from linkbase.cli.output import (
    EXIT_OK,
    EXIT_REFUSED,
    CliUsageError,
    DuplicatePolicy,
    fail,
    flush,
    parse_json_array,
    state,
    warn,
    write,
)
from linkbase.client import Client, OnDuplicate
from linkbase.client_errors import LinkbaseAPIError, LinkbaseError
from linkbase.interpreter import gc_paused

#: What an exported line holds (besides being sorted): the importable attributes + created_at.
EXPORT_FIELDS = (
    "created_at",
    "head_uuid",
    "link_class",
    "name",
    "owner_uuid",
    "properties",
    "tail_uuid",
    "uuid",
)
#: Links per import request when ``--batch-size`` is not given: the first batches are small and
#: the size doubles every second batch up to :data:`GROWN_BATCH_SIZE` (the server accepts up to
#: its ``max_import_links``; a batch it finds too large is split and resent). With ``--parallel
#: 2`` the server prepares one batch while it writes the other: small first batches start that
#: pipeline sooner (100,000 links on SQLite: 10,000-link batches ran at 18,000-19,000 links/s,
#: 50,000-link ones at 15,500-16,000). Later batches must be large: every write transaction
#: dirties pages all over the indexes keyed by random uuids (links and log), so on a big table
#: a link costs less the more links share a transaction (1,000,000 links on SQLite: 11,700
#: links/s with 10,000-link batches, 19,400 with 50,000).
DEFAULT_BATCH_SIZE = 10_000
GROWN_BATCH_SIZE = 50_000
MAX_BATCH_SIZE = 100_000
#: Attributes the server computes; dropped from imported lines so exports re-import cleanly.
SERVER_COMPUTED = frozenset(
    {
        "created_at",
        "modified_at",
        "modified_by_user_uuid",
        "modified_by_client_uuid",
        "kind",
        "etag",
        "href",
        "id",
    }
)
#: Of those, the ones the server refuses rather than ignores: a line holding one is re-encoded
#: without it; any other line is sent byte for byte.
_REFUSED_BY_SERVER = frozenset({"id"})


# --------------------------------------------------------------------------------------------
# Progress display


def _progress(total: int | None, description: str) -> tuple[AbstractContextManager[Any], Any]:
    """A rich progress bar on stderr when it is a terminal; otherwise a silent stand-in.

    Returns ``(context manager, advance(n))``. Non-interactive runs (CI, pipes, cron) get no
    control characters in their logs, only the final summary line.
    """
    if not sys.stderr.isatty():
        return nullcontext(), lambda n: None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items per second (rich's own speed column counts bytes)."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-/s" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")

    progress = Progress(
        SpinnerColumn(),
        TextColumn(escape(description)),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = progress.add_task(description, total=total)

    def advance(n: int) -> None:
        progress.advance(task, n)

    return progress, advance


def _elapsed(start: float) -> str:
    return f"{time.monotonic() - start:.1f}s"


# --------------------------------------------------------------------------------------------
# Export


def export_line(item: dict[str, Any]) -> str:
    """One exported link: the export fields only, sorted keys, compact, UTF-8."""
    record = {key: item.get(key) for key in EXPORT_FIELDS}
    if record["properties"] is None:
        record["properties"] = {}
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _export(
    ctx: typer.Context,
    filters: str | None = typer.Option(
        None, "--filters", help="Only links matching these Arvados filters (JSON array, @FILE, -)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout.", dir_okay=False
    ),
) -> None:
    parsed = parse_json_array(filters, "--filters") if filters is not None else None
    client = state(ctx).client()
    start = time.monotonic()
    total = client.links.count(filters=parsed) if sys.stderr.isatty() else None
    stream: IO[str] | None = None
    written = 0
    display, advance = _progress(total, "exporting links")
    try:
        if output is not None:
            try:
                stream = output.open("w", encoding="utf-8", newline="\n")
            except OSError as exc:
                raise CliUsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
        with display:
            for page in client.links.keyset_pages(filters=parsed, select=list(EXPORT_FIELDS)):
                text = "".join(export_line(item) + "\n" for item in page)
                if stream is not None:
                    stream.write(text)
                else:
                    write(text)
                written += len(page)
                advance(len(page))
        if stream is None:
            flush()
    except LinkbaseError as exc:
        reason = exc.message if isinstance(exc, LinkbaseAPIError) else str(exc)
        fail(f"export stopped after {written} links: {reason}")
    finally:
        if stream is not None:
            stream.close()
    warn(f"exported {written} links in {_elapsed(start)}")


_export.__doc__ = (
    "Write links as JSON Lines (one object per line, sorted keys) to stdout or --output.\n\n"
    "Each line holds uuid, owner_uuid, link_class, name, tail_uuid, head_uuid, properties and "
    "created_at; only links you can read are exported. Pages with keysets, so concurrent "
    "writes never make it skip or repeat a link.\n\n"
    "[b]Examples[/b]\n\n"
    "  $ linkbase export > links.jsonl\n"
    + "  $ "
    + escape("""linkbase export --filters '[["link_class", "=", "star"]]' -o stars.jsonl""")
)


# --------------------------------------------------------------------------------------------
# Import


@dataclass
class _Line:
    number: int
    attrs: dict[str, Any]
    #: The line as sent: its own bytes when the server can take them as they are (no re-encoding
    #: of millions of lines), else ``attrs``.
    wire: dict[str, Any] | orjson.Fragment


class ImportStats:
    """Running totals, reported in the final summary line."""

    read: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    without_uuid: int = 0

    def summary(self) -> str:
        return (
            f"{self.read} lines read, {self.created} created, {self.updated} updated, "
            f"{self.skipped} skipped, {self.rejected} rejected"
        )


class _StopImport(Exception):
    """Abort the import: a --strict rejection, or a batch the server refused as a whole."""


def _read_lines(stream: IO[bytes], stats: ImportStats, strict: bool) -> Iterator[_Line]:
    """Parse the JSONL input; bad lines are reported (and stop the import with --strict).

    Lines are parsed as the server parses them (orjson, strict RFC 8259 over UTF-8): a line it
    would refuse (NaN, a lone surrogate, bytes that are not UTF-8) is rejected here, with its
    line number, rather than failing a whole batch on the server.
    """
    fragment = orjson.Fragment
    for number, raw in enumerate(stream, start=1):
        data = raw.strip()
        if not data:
            continue
        stats.read += 1
        try:
            value = orjson.loads(data)
            reason = "" if isinstance(value, dict) else "not a JSON object"
        except orjson.JSONDecodeError as exc:
            value, reason = None, f"invalid JSON: {exc.msg} at column {exc.colno}"
        if reason:
            stats.rejected += 1
            warn(f"line {number}: {reason}")
            if strict:
                raise _StopImport(f"line {number} rejected and --strict given")
            continue
        if not value.get("uuid"):
            stats.without_uuid += 1
        if _REFUSED_BY_SERVER.isdisjoint(value):
            yield _Line(number, value, fragment(data))
        else:
            attrs = {k: v for k, v in value.items() if k not in SERVER_COMPUTED}
            yield _Line(number, attrs, attrs)


def _too_large(exc: LinkbaseAPIError) -> bool:
    """The server refused the batch for its size (413, or 422 saying so): split and retry."""
    text = exc.message.lower()
    return exc.status == 413 or (
        exc.status == 422 and ("too large" in text or "at most" in text)
    )


@dataclass
class _InFlight:
    lines: list[_Line]
    future: Future[Any]
    uuids: set[str]


class _Importer:
    """Sends batches, retrying without the lines the server rejected.

    With ``parallel`` > 1 the next batch is sent while the previous one is still being written
    (the server validates one while it inserts the other). Results are still handled in file
    order, and a batch sharing a uuid with the one in flight waits for it, so duplicates resolve
    exactly as in a sequential import. ``--strict`` imports are sequential: nothing after the
    first rejected line is written.
    """

    def __init__(
        self,
        client: Client,
        on_duplicate: OnDuplicate,
        strict: bool,
        stats: ImportStats,
        advance: Any,
        parallel: int = 1,
    ) -> None:
        self.client = client
        self.on_duplicate: OnDuplicate = on_duplicate
        self.strict = strict
        self.stats = stats
        self.advance = advance
        self.parallel = 1 if strict else max(1, parallel)
        self._pool = (
            ThreadPoolExecutor(self.parallel, thread_name_prefix="linkbase-import")
            if self.parallel > 1 else None
        )
        self._in_flight: list[_InFlight] = []
        #: First line of the batch being handled: where an import that stops stopped.
        self.at_line: int | None = None

    def _post(self, lines: list[_Line]) -> Any:
        return self.client.batch_links(
            [line.wire for line in lines], on_duplicate=self.on_duplicate
        )

    def submit(self, batch: list[_Line]) -> None:
        """Send one batch (pipelined when ``parallel`` > 1); handle results in order."""
        if self._pool is None:
            self.send(batch)
            return
        names = {u for line in batch if isinstance(u := line.attrs.get("uuid"), str)}
        while self._in_flight and (
            len(self._in_flight) >= self.parallel
            or any(names & flight.uuids for flight in self._in_flight)
        ):
            self._settle(self._in_flight.pop(0))
        self._in_flight.append(_InFlight(batch, self._pool.submit(self._post, batch), names))

    def finish(self) -> None:
        """Wait for every batch in flight and handle its result."""
        while self._in_flight:
            self._settle(self._in_flight.pop(0))

    def close(self) -> None:
        """After a stop: count what the batches still in flight wrote; release the threads."""
        for flight in self._in_flight:
            try:
                result = flight.future.result()
            except Exception:  # stopping anyway: its error is not the first
                continue
            if isinstance(result, dict) and not result.get("errors"):
                self._count(result, len(flight.lines))
        self._in_flight = []
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _settle(self, flight: _InFlight) -> None:
        self.at_line = flight.lines[0].number
        try:
            result = flight.future.result()
        except LinkbaseAPIError as exc:
            if _too_large(exc) and len(flight.lines) > 1:
                half = len(flight.lines) // 2
                self.send(flight.lines[:half])
                self.send(flight.lines[half:])
                return
            raise
        remaining = self._handle(flight.lines, result)
        if remaining:
            self.send(remaining)

    def send(self, batch: list[_Line]) -> None:
        """Write one batch: all of it, or all of it minus the lines the server named."""
        pending = batch
        while pending:
            self.at_line = pending[0].number
            try:
                result = self._post(pending)
            except LinkbaseAPIError as exc:
                if _too_large(exc) and len(pending) > 1:
                    half = len(pending) // 2  # too large for the server: split and go on
                    self.send(pending[:half])
                    self.send(pending[half:])
                    return
                raise
            pending = self._handle(pending, result)

    def _count(self, result: dict[str, Any], lines: int) -> None:
        self.stats.created += int(result.get("created", 0))
        self.stats.updated += int(result.get("updated", 0))
        self.stats.skipped += int(result.get("skipped", 0))
        self.advance(lines)

    def _handle(self, pending: list[_Line], result: Any) -> list[_Line]:
        """Account for one answer; the lines to resend (none when the batch was written)."""
        if not isinstance(result, dict):
            raise _StopImport("the batch endpoint answered with something other than JSON")
        errors = result.get("errors") or []
        if not errors:
            self._count(result, len(pending))
            return []
        rejected: dict[int, str] = {}
        for error in errors:
            index = error.get("index") if isinstance(error, dict) else None
            reason = error.get("error") if isinstance(error, dict) else error
            if isinstance(index, int) and 0 <= index < len(pending):
                rejected[index] = " ".join(str(reason).split())
            else:
                raise _StopImport(
                    f"the server refused a batch starting at line {pending[0].number}: "
                    f"{reason}"
                )
        for index in sorted(rejected):
            warn(f"line {pending[index].number}: {rejected[index]}")
        self.stats.rejected += len(rejected)
        self.advance(len(rejected))
        if self.strict:
            first = pending[min(rejected)].number
            raise _StopImport(
                f"line {first} rejected and --strict given; "
                f"nothing from lines {pending[0].number}-{pending[-1].number} was written"
            )
        return [line for i, line in enumerate(pending) if i not in rejected]


def batch_sizes(chosen: int | None) -> Iterator[int]:
    """The size of each batch in turn: ``chosen`` every time, or (none chosen) the growing
    default of :data:`DEFAULT_BATCH_SIZE`."""
    size = chosen or DEFAULT_BATCH_SIZE
    while True:
        yield size
        yield size
        if chosen is None:
            size = min(size * 2, GROWN_BATCH_SIZE)


def _count_lines(path: Path) -> int | None:
    """Line count for the progress bar's ETA (a fast byte scan of the file)."""
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None


def _import(
    ctx: typer.Context,
    source: str = typer.Argument(
        ..., help="JSON Lines file (as written by export), or - for stdin.", show_default=False
    ),
    on_duplicate: DuplicatePolicy = typer.Option(
        DuplicatePolicy.ignore,
        "--on-duplicate",
        "--on_duplicate",
        help="A line whose uuid already exists: skip it (ignore, the default, makes re-runs "
        "resume safely), overwrite it (update) or reject it (error).",
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", "--batch_size", min=1, max=MAX_BATCH_SIZE,
        help=f"Links per request [default: {DEFAULT_BATCH_SIZE:,}, doubling every second "
        f"batch up to {GROWN_BATCH_SIZE:,}].", show_default=False,
    ),
    parallel: int = typer.Option(
        2, "--parallel", min=1, max=8,
        help="Batches in flight: the next is sent while the server writes the previous one "
        "(1 with --strict).",
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Stop with exit status 1 at the first rejected line."
    ),
) -> None:
    client = state(ctx).client()
    stats = ImportStats()
    start = time.monotonic()
    if source == "-":
        stream: IO[bytes] = sys.stdin.buffer
        total = None
    else:
        path = Path(source).expanduser()
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise CliUsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        total = _count_lines(path) if sys.stderr.isatty() else None
    display, advance = _progress(total, "importing links")
    policy: OnDuplicate = on_duplicate.value
    importer = _Importer(client, policy, strict, stats, advance, parallel)
    status = EXIT_OK
    stopped = False  # ended early (error, --strict, interrupt), as opposed to mere rejections
    batch: list[_Line] = []
    sizes = batch_sizes(batch_size)
    size = next(sizes)
    try:
        with display, gc_paused():
            for line in _read_lines(stream, stats, strict):
                batch.append(line)
                if len(batch) >= size:
                    importer.submit(batch)
                    batch = []
                    size = next(sizes)
            if batch:
                importer.submit(batch)
                batch = []
            importer.finish()
    except _StopImport as exc:
        warn(f"import stopped: {exc}")
        status, stopped = EXIT_REFUSED, True
    except LinkbaseError as exc:
        reason = exc.message if isinstance(exc, LinkbaseAPIError) else str(exc)
        first = importer.at_line if importer.at_line is not None else (
            batch[0].number if batch else None
        )
        where = f" at line {first}" if first is not None else ""
        warn(f"import stopped{where}: {reason}")
        status, stopped = EXIT_REFUSED, True
    except KeyboardInterrupt:
        warn("import interrupted")
        status, stopped = 130, True
    finally:
        importer.close()
        if stream is not sys.stdin.buffer:
            stream.close()
    if stats.rejected and status == EXIT_OK:
        status = EXIT_REFUSED
    verdict = "import finished" if status == EXIT_OK else "import incomplete"
    warn(f"{verdict}: {stats.summary()} in {_elapsed(start)}")
    if stopped and on_duplicate is not DuplicatePolicy.error:
        warn("re-run the same command to resume: lines whose uuid exists are skipped")
        if stats.without_uuid:
            warn(f"{stats.without_uuid} lines have no uuid: a re-run would create them again")
    if status != EXIT_OK:
        raise typer.Exit(status)


_import.__doc__ = (
    "Create links from a JSON Lines file, in batches of all-or-nothing requests.\n\n"
    "Rejected lines are reported on stderr (line number and reason) and the rest of their "
    "batch is resent, unless --strict. Lines with a uuid that already exists are skipped by "
    "default, so an interrupted import can simply be re-run. Exit status 1 if any line was "
    "rejected.\n\n"
    "[b]Examples[/b]\n\n"
    "  $ linkbase import links.jsonl\n"
    "  $ linkbase import --strict --batch-size 500 links.jsonl\n"
    "  $ linkbase --url $OLD export | linkbase --url $NEW import --on-duplicate update -"
)


def register(app: typer.Typer) -> None:
    """Add ``export`` and ``import``."""
    app.command("export", cls=Command)(_export)
    app.command("import", cls=Command)(_import)
