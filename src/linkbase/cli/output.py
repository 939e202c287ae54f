"""What the CLI prints, and the shared state and input parsing every command uses.

Rules that keep the CLI scriptable:

* results go to stdout, everything else (errors, progress, summaries) to stderr;
* an error is exactly one line, ``linkbase: <message>``, never a traceback;
* a closed stdout (``linkbase link list -s | head -1``) ends the command quietly with status 0;
* ``--format uuid`` (or ``-s``) prints bare uuids, one per line, for ``xargs`` and ``$(...)``.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

try:  # Typer >= 0.24 ships its own copy of Click; older releases use Click itself.
    from typer._click import exceptions as click_exceptions
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - depends on the installed Typer
    from click import exceptions as click_exceptions  # type: ignore[no-redef]
    from click import get_current_context  # type: ignore[no-redef]

if TYPE_CHECKING:
    from linkbase.client import Client

__all__ = [
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "CliState",
    "CliUsageError",
    "CountMode",
    "DuplicatePolicy",
    "OutputFormat",
    "click_exceptions",
    "emit",
    "fail",
    "flush",
    "one_line",
    "parse_json_array",
    "parse_json_object",
    "parse_name_list",
    "render",
    "state",
    "warn",
    "write",
]

#: Exit statuses: the contract scripts rely on.
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


class OutputFormat(enum.StrEnum):
    """``--format`` values."""

    json = "json"
    yaml = "yaml"
    uuid = "uuid"


class CountMode(enum.StrEnum):
    """``--count`` values of list commands."""

    exact = "exact"
    none = "none"


class DuplicatePolicy(enum.StrEnum):
    """``import --on-duplicate`` values."""

    error = "error"
    ignore = "ignore"
    update = "update"


class CliUsageError(click_exceptions.UsageError):
    """A usage problem found after parsing (bad JSON in a flag, unreadable ``@file``): exit 2."""

    def __init__(self, message: str) -> None:
        # Remember the running command so the error line can name it.
        super().__init__(message, ctx=get_current_context(silent=True))


@dataclass
class CliState:
    """Global options, shared by every command through ``ctx.obj``."""

    format: OutputFormat = OutputFormat.json
    url: str | None = None
    token: str | None = None
    insecure: bool | None = None
    _client: Client | None = field(default=None, repr=False)

    def client(self) -> Client:
        """The client, built on first use so ``--help`` and usage errors need no server."""
        if self._client is None:
            from linkbase.client import Client

            self._client = Client(self.url, self.token, insecure=self.insecure)
        return self._client


def state(ctx: typer.Context) -> CliState:
    """The root command's state (a default one when a command is run on its own in tests)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


# --------------------------------------------------------------------------------------------
# Messages


def one_line(text: str) -> str:
    """Collapse whitespace so a message never spans several lines."""
    return " ".join(str(text).split())


def warn(message: str) -> None:
    """One line on stderr, prefixed with the program name."""
    sys.stderr.write(f"linkbase: {one_line(message)}\n")
    sys.stderr.flush()


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    """Print one error line and stop with ``code``."""
    warn(message)
    raise typer.Exit(code)


# --------------------------------------------------------------------------------------------
# Writing results


def _stdout_closed() -> NoReturn:
    """The reader went away: stop quietly, and keep Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise typer.Exit(EXIT_OK)


def write(text: str) -> None:
    """Write to stdout, treating a closed pipe as a normal end."""
    try:
        sys.stdout.write(text)
    except BrokenPipeError:
        _stdout_closed()


def flush() -> None:
    """Flush stdout, treating a closed pipe as a normal end."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_closed()


def _uuids(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        items = value.get("items")
        if isinstance(items, list) and "uuid" not in value:
            for item in items:
                if isinstance(item, dict) and item.get("uuid"):
                    yield str(item["uuid"])
        elif value.get("uuid"):
            yield str(value["uuid"])
    elif isinstance(value, list):
        for item in value:
            yield from _uuids(item)


def render(value: Any, fmt: OutputFormat) -> str:
    """The text printed for a result in the requested format (always newline-terminated)."""
    if fmt is OutputFormat.uuid:
        return "".join(f"{u}\n" for u in _uuids(value))
    if fmt is OutputFormat.yaml:
        import yaml

        return str(yaml.safe_dump(value, sort_keys=False, allow_unicode=True))
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def emit(ctx: typer.Context, value: Any) -> None:
    """Print a command's result in the global ``--format``."""
    write(render(value, state(ctx).format))
    flush()


# --------------------------------------------------------------------------------------------
# Reading JSON options


def read_option_text(value: str, flag: str) -> str:
    """The text of an option that accepts inline JSON, ``@file`` or ``-`` (stdin)."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliUsageError(f"{flag}: cannot read {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise CliUsageError(f"{flag}: {path} is not UTF-8 text") from exc
    return value


def parse_json_option(value: str, flag: str) -> Any:
    """Decode a JSON option; a syntax error is a usage error naming the flag and position."""
    text = read_option_text(value, flag)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliUsageError(
            f"invalid JSON in {flag}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def parse_json_object(value: str, flag: str) -> dict[str, Any]:
    """A JSON option that must hold an object (resource bodies, ``--where``)."""
    parsed = parse_json_option(value, flag)
    if not isinstance(parsed, dict):
        raise CliUsageError(f"{flag} must be a JSON object, got {type(parsed).__name__}")
    return parsed


def parse_json_array(value: str, flag: str) -> list[Any]:
    """A JSON option that must hold an array (``--filters``)."""
    parsed = parse_json_option(value, flag)
    if not isinstance(parsed, list):
        raise CliUsageError(f"{flag} must be a JSON array, got {type(parsed).__name__}")
    return parsed


def parse_name_list(value: str, flag: str) -> list[str]:
    """``--select``/``--order``: a JSON array, or a comma-separated list as Arvados accepts."""
    text = value.strip()
    if text.startswith(("[", "@")) or text == "-":
        parsed = parse_json_array(value, flag)
        if not all(isinstance(item, str) for item in parsed):
            raise CliUsageError(f"{flag} must be an array of strings")
        return [str(item) for item in parsed]
    return [part.strip() for part in text.split(",") if part.strip()]
