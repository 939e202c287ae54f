"""The ``linkbase`` command: entry point, global options and error policy.

Exit statuses are a contract: 0 success, 1 the server refused or could not be reached, 2 usage
error (unknown flag, missing option, malformed JSON in a flag). Whatever goes wrong, the user sees
one line on stderr and never a Python traceback (set ``LINKBASE_DEBUG=1`` to get one).

Server-side admin commands (``serve``, ``db``, ...) live in :mod:`linkbase.cli.serve`, owned
separately; they are merged in when that module exists so this CLI works without it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from linkbase import __version__
from linkbase.cli import bulk, changes, graph, resources
from linkbase.cli.commands import Group
from linkbase.cli.output import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    CliState,
    OutputFormat,
    click_exceptions,
    one_line,
    warn,
)
from linkbase.client_errors import (
    LinkbaseAPIError,
    LinkbaseConfigError,
    LinkbaseConnectionError,
    LinkbaseError,
)
from linkbase.domain import errors as domain_errors

_EXAMPLE_LINK = (
    '{"link_class": "tag", "name": "urgent", "head_uuid": "zzzzz-j7d0g-fffffffffffffff"}'
)
_EXAMPLE_LIST = """linkbase -s link list --filters '[["link_class", "=", "star"]]'"""
_HELP = f"""Linkbase: links and permissions over the Arvados v1 and Laserfiche v2 APIs.

Connection: --url/--token, else LINKBASE_URL/LINKBASE_TOKEN, else ARVADOS_API_HOST \
(host[:port], https unless it starts with http://), ARVADOS_API_TOKEN and \
ARVADOS_API_HOST_INSECURE as the arv tool reads them.

Exit status: 0 ok, 1 the server refused or is unreachable (one line on stderr), 2 usage error.

[b]Examples[/b]

  $ export LINKBASE_URL=http://127.0.0.1:8000 LINKBASE_TOKEN=...
  $ {escape(f"linkbase --format=uuid link create --link '{_EXAMPLE_LINK}'")}
  $ {escape(_EXAMPLE_LIST)}
  $ linkbase export > links.jsonl && linkbase import links.jsonl
  $ linkbase --install-completion
"""

app = typer.Typer(
    cls=Group,
    name="linkbase",
    help=_HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"linkbase {__version__}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def root(
    ctx: typer.Context,
    output_format: OutputFormat = typer.Option(
        OutputFormat.json,
        "--format",
        "-f",
        case_sensitive=False,
        help="Output format: json (default), yaml, or uuid (bare uuids, one per line).",
    ),
    short: bool = typer.Option(False, "--short", "-s", help="Same as --format=uuid."),
    url: str | None = typer.Option(
        None, "--url", help="Server URL, e.g. http://127.0.0.1:8000 (default: $LINKBASE_URL)."
    ),
    token: str | None = typer.Option(
        None, "--token", help="API token (default: $LINKBASE_TOKEN or $ARVADOS_API_TOKEN)."
    ),
    insecure: bool = typer.Option(
        False, "--insecure", "-k", help="Do not verify the server's TLS certificate."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Global options apply to every command; put them before the command name."""
    ctx.obj = CliState(
        format=OutputFormat.uuid if short else output_format,
        url=url,
        token=token,
        insecure=True if insecure else None,
    )


resources.register(app)
bulk.register(app)
graph.register(app)
changes.register(app)


# --------------------------------------------------------------------------------------------
# Server-side commands from linkbase.cli.serve


class _DualCommand(TyperCommand):
    """One name served by two commands: the API one (ours) and the server-side one.

    ``linkbase user create`` is both the Arvados call (``--user JSON``) and the lead's direct
    database command. The invocation picks: any option only the server-side command knows sends
    it there; otherwise the API command runs. ``--help`` shows the API help plus a pointer.
    """

    def __init__(self, name: str, api: Any, admin: Any) -> None:
        super().__init__(name, help=api.help, short_help=api.short_help, add_help_option=False)
        self.api = api
        self.admin = admin
        api_opts = {o for p in api.params for o in (*p.opts, *p.secondary_opts)}
        self.admin_only = {
            o
            for p in admin.params
            for o in (*p.opts, *p.secondary_opts)
            if o.startswith("-") and o not in api_opts
        }

    def _pick(self, args: Sequence[str]) -> Any:
        """The server-side command if the arguments only make sense for it, else the API one.

        Server-side only: an option the API command lacks, or a bare word (the API commands take
        no positional arguments, the server-side ones do, e.g. ``user create alice``).
        """
        takes_value = {
            o
            for p in self.api.params
            if not getattr(p, "is_flag", False)
            for o in (*p.opts, *p.secondary_opts)
        }
        skip_next = False
        for arg in args:
            if skip_next:
                skip_next = False
                continue
            if arg == "--":
                break
            name = arg.split("=", 1)[0]
            if name in self.admin_only:
                return self.admin
            if not arg.startswith("-"):
                return self.admin
            skip_next = name in takes_value and "=" not in arg
        return self.api

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        target = self._pick(args)
        wants_help = any(a in ("-h", "--help") for a in args)  # parsing consumes ``args``
        try:
            return target.make_context(info_name, args, parent=parent, **extra)
        except typer.Exit:
            if target is self.api and wants_help:
                opts = ", ".join(sorted(self.admin_only))
                path = f"{parent.command_path} {info_name}" if parent is not None else info_name
                sys.stdout.write(
                    "This command also has a server-side form (direct database access), "
                    f"chosen by positional arguments or any of: {opts}. "
                    f"See '{path} --database URL --help'.\n"
                )
            raise

    def get_short_help_str(self, limit: int = 45) -> str:
        return str(self.api.get_short_help_str(limit))


def _merge(into: TyperGroup, extra: TyperGroup) -> None:
    """Add ``extra``'s commands to ``into``; same-named groups merge, same-named commands dual."""
    for name, command in extra.commands.items():
        mine = into.commands.get(name)
        if mine is None:
            into.add_command(command, name)
        elif isinstance(mine, TyperGroup) and isinstance(command, TyperGroup):
            _merge(mine, command)
        elif not isinstance(mine, TyperGroup) and not isinstance(command, TyperGroup):
            into.add_command(_DualCommand(name, mine, command), name)
        else:
            warn(f"command {name!r} of linkbase.cli.serve clashes with ours; ignored")


_serve_error: str | None = None


def _server_commands() -> TyperGroup | None:
    """The lead's server-side commands, registered on a staging app, or ``None``."""
    global _serve_error
    try:
        if importlib.util.find_spec("linkbase.cli.serve") is None:
            return None
        from linkbase.cli import serve as _serve

        staging = typer.Typer(cls=Group, rich_markup_mode="rich")

        @staging.callback()
        def _staging() -> None:
            """Staging group; its commands are moved onto the real root."""

        _serve.register(staging)
        group = typer.main.get_command(staging)
    except Exception as exc:  # a broken serve.py must not take the client commands down
        if os.environ.get("LINKBASE_DEBUG"):
            raise
        _serve_error = f"{type(exc).__name__}: {one_line(str(exc))}"
        return None
    return group if isinstance(group, TyperGroup) else None


#: Top-level commands only this module defines. Running one of them skips importing the
#: server-side commands (SQLAlchemy, settings, ...), which triples start-up time; that matters
#: for shell loops calling ``linkbase link create`` thousands of times.
_CLIENT_ONLY = frozenset(
    {"link", "group", "collection", "api_client_authorization", "api-client-authorization",
     "export", "import", "graph"}
)
_GLOBAL_VALUE_OPTIONS = frozenset({"--format", "-f", "--url", "--token"})


def _command_word(args: Sequence[str]) -> str | None:
    """The first command name in ``args``, skipping global options and their values."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in _GLOBAL_VALUE_OPTIONS
        else:
            return arg
    return None


def build_command(args: Sequence[str] | None = None) -> TyperGroup:
    """The click command tree: ours plus the server-side commands (unless ``args`` shows that
    only ours can run)."""
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    if args is not None and _command_word(args) in _CLIENT_ONLY:
        return command
    server = _server_commands()
    if server is not None:
        _merge(command, server)
    return command


# --------------------------------------------------------------------------------------------
# Entry point


def _usage_line(exc: click_exceptions.UsageError) -> str:
    message = one_line(exc.format_message())
    ctx = exc.ctx
    if ctx is None:
        return f"linkbase: {message}"
    path = ctx.command_path or "linkbase"
    return f"{path}: {message} (see '{path} --help')"


def _where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame, so a bug report needs no second run."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown location"
    frame = frames[-1]
    path = Path(frame.filename)
    parts = path.parts
    short = "/".join(parts[parts.index("linkbase"):]) if "linkbase" in parts else path.name
    return f"at {short}:{frame.lineno}"


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit status (for tests and :func:`main`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        command = build_command(args)
        result = command.main(args=args, prog_name="linkbase", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError:
        return EXIT_USAGE  # the help has already been printed
    except click_exceptions.UsageError as exc:
        line = _usage_line(exc)
        if _serve_error and "No such command" in line:
            line += f" [server commands unavailable: {_serve_error}]"
        sys.stderr.write(line + "\n")
        return EXIT_USAGE
    except click_exceptions.ClickException as exc:
        warn(exc.format_message())
        return exc.exit_code
    except typer.Abort:
        warn("aborted")
        return EXIT_REFUSED
    except LinkbaseConfigError as exc:
        warn(str(exc))
        return EXIT_USAGE
    except LinkbaseConnectionError as exc:
        warn(str(exc))
        return EXIT_REFUSED
    except LinkbaseAPIError as exc:
        warn(f"server refused ({exc.status}): {exc.message}")
        return EXIT_REFUSED
    except LinkbaseError as exc:
        warn(str(exc))
        return EXIT_REFUSED
    except domain_errors.ConfigurationError as exc:  # server-side commands: serve, db, demo...
        warn(str(exc))
        return EXIT_USAGE
    except domain_errors.LinkbaseError as exc:
        warn(str(exc))
        return EXIT_REFUSED
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except Exception as exc:
        if os.environ.get("LINKBASE_DEBUG"):
            raise
        warn(
            f"internal error: {type(exc).__name__}: {exc} ({_where(exc)}; "
            "set LINKBASE_DEBUG=1 for the traceback)"
        )
        return EXIT_REFUSED
    return result if isinstance(result, int) else EXIT_OK


def main() -> None:
    """Console-script entry point (``linkbase``)."""
    status = run()
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
    sys.exit(status)


if __name__ == "__main__":
    main()
