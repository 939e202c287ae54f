"""Server-side administration commands: they act on the database directly, not over HTTP.

``serve`` binds its port before anything else, so a port in use is a one-line error rather than
a stack trace after start-up; then it brings the schema up to date, optionally fills a new
database with the demo world, prints a banner saying where everything is, and serves.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from linkbase.cli.commands import Command
from linkbase.settings import Settings

if TYPE_CHECKING:
    from linkbase.services.demo import DemoWorld
    from linkbase.storage.database import Database

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="Database URL (default: LINKBASE_DATABASE_URL or "
                 "sqlite:///linkbase.db)."),
]


def _settings(database: str | None) -> Settings:
    settings = Settings()
    if database:
        settings = settings.model_copy(update={"database_url": database})
    return settings


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (ConfigurationError with the reason if it cannot be)."""
    from linkbase.domain.errors import ConfigurationError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (
            exc.strerror or str(exc)).lower()
        hint = " (is another server running? choose another with --port)" if (
            exc.errno == errno.EADDRINUSE) else ""
        raise ConfigurationError(f"cannot listen on {host}:{port}: {reason}{hint}") from exc
    sock.set_inheritable(True)
    return sock


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: DatabaseOption = None,
    workers: Annotated[int, typer.Option(
        min=1, help="Server processes sharing the port (PostgreSQL: up to one per core; "
        "SQLite: writes still go one at a time).")] = 1,
    demo: Annotated[bool, typer.Option(
        "--demo", help="Fill a new, empty database with the demo world first (see "
        "'linkbase demo').")] = False,
    tls_cert: Annotated[str | None, typer.Option(
        "--tls-cert", help="Serve HTTPS (and wss:// events) with this PEM certificate "
        "(chain); needs --tls-key.")] = None,
    tls_key: Annotated[str | None, typer.Option(
        "--tls-key", help="The PEM private key of --tls-cert.")] = None,
    header_timeout: Annotated[float | None, typer.Option(
        min=0.001, help="Seconds a client may take to send its request headers "
        "(LINKBASE_HEADER_TIMEOUT_SECONDS, default 10).")] = None,
    body_timeout: Annotated[float | None, typer.Option(
        min=0.001, help="Seconds a client may take to send a request body "
        "(LINKBASE_BODY_TIMEOUT_SECONDS, default 60).")] = None,
    keep_alive: Annotated[int | None, typer.Option(
        min=1, help="Seconds an idle kept-alive connection stays open "
        "(LINKBASE_KEEP_ALIVE_SECONDS, default 5).")] = None,
    max_connections: Annotated[int | None, typer.Option(
        min=1, help="Open connections per process beyond which requests get 503 "
        "(LINKBASE_MAX_CONNECTIONS, default 1000).")] = None,
) -> None:
    """Start the server, bringing the schema up to date first.

    Example: linkbase serve --port 8000 --database sqlite:///linkbase.db --workers 2
    """
    import uvicorn

    from linkbase.api.app import create_app
    from linkbase.api.observability import configure_logging
    from linkbase.bootstrap import prepare_database
    from linkbase.interpreter import freeze_startup_heap

    configure_logging()
    tls = _tls_options(tls_cert, tls_key)
    sock = _listen(host, port)
    settings = _with_connection_limits(_settings(database), header_timeout=header_timeout,
                                       body_timeout=body_timeout, keep_alive=keep_alive,
                                       max_connections=max_connections)
    db = prepare_database(settings)  # once, before any worker starts
    first_token = None if settings.system_root_token else _first_start_token(settings, db)
    world = _demo(settings, db) if demo else None
    _banner(settings, host, port, first_token, world, https=bool(tls))
    options = {**uvicorn_options(settings), **tls}
    if workers == 1:
        app = create_app(settings, db)
        freeze_startup_heap()
        uvicorn.Server(uvicorn.Config(app, **options)).run(sockets=[sock])
        return
    db.dispose()
    # Each worker is a fresh process that builds its app from the environment (the database
    # is already migrated and seeded) and serves the socket bound above; every guarantee
    # between requests holds across them because all ordering is done by the database
    # (storage.locks).
    from uvicorn.supervisors import Multiprocess

    os.environ["LINKBASE_DATABASE_URL"] = settings.database_url
    config = uvicorn.Config("linkbase.api.app:app_from_environment", factory=True,
                            workers=workers, **options)
    Multiprocess(config, sockets=[sock]).run()


def _tls_options(cert: str | None, key: str | None) -> dict[str, str]:
    """uvicorn's TLS options, after checking the pair loads (ConfigurationError if not)."""
    import ssl

    from linkbase.domain.errors import ConfigurationError

    if cert is None and key is None:
        return {}
    if cert is None or key is None:
        raise ConfigurationError("--tls-cert and --tls-key go together")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigurationError(f"cannot use the TLS certificate {cert}: {reason}") from exc
    return {"ssl_certfile": cert, "ssl_keyfile": key}


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves Linkbase (tests serving an app in-process use the same)."""
    from linkbase.api import connection_limits

    return {
        "log_level": "warning", "access_log": False,
        # Connection limits (api/connection_limits.py reads its own from the environment).
        "http": connection_limits.IMPORT_PATH, "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": settings.max_connections,
    }


_CONNECTION_LIMITS = {"header_timeout": "header_timeout_seconds",
                      "body_timeout": "body_timeout_seconds",
                      "keep_alive": "keep_alive_seconds", "max_connections": "max_connections"}


def _with_connection_limits(settings: Settings, **flags: float | None) -> Settings:
    """``settings`` with the flags given, exported to the environment: the connection protocol
    and every ``--workers`` process read their limits from it."""
    update = {_CONNECTION_LIMITS[flag]: value for flag, value in flags.items()
              if value is not None}
    settings = settings.model_copy(update=update)
    for field in _CONNECTION_LIMITS.values():
        os.environ[f"LINKBASE_{field.upper()}"] = str(getattr(settings, field))
    return settings


def _first_start_token(settings: Settings, db: Database) -> str | None:
    """Without LINKBASE_SYSTEM_ROOT_TOKEN, an admin token issued on the first start (else None)."""
    from linkbase.services.context import Services
    from linkbase.services.tokens import first_start_token

    return first_start_token(Services(db, settings))


def _demo(settings: Settings, db: Database) -> DemoWorld | None:
    """Fill a new database with the demo world; say so and go on when it is not empty."""
    from linkbase.domain.errors import ConflictError
    from linkbase.services.context import Services
    from linkbase.services.demo import fill

    try:
        return fill(Services(db, settings))
    except ConflictError as exc:
        print(f"linkbase: --demo skipped: {exc}", file=sys.stderr, flush=True)
        return None


def _backend(url: str) -> str:
    return "PostgreSQL" if url.startswith(("postgres", "postgresql")) else "SQLite"


def _banner(settings: Settings, host: str, port: int, first_token: str | None,
            world: DemoWorld | None, *, https: bool = False) -> None:
    """Where everything is, printed once the port is bound (stderr, like the logs)."""
    from linkbase import __version__
    from linkbase.storage.engine import display_url

    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    scheme = "https" if https else "http"
    base = f"{scheme}://[{shown}]:{port}" if ":" in shown else f"{scheme}://{shown}:{port}"
    url = display_url(settings.database_url)
    db_option = f" --database {url}" if settings.database_url != Settings().database_url else ""
    lines = [
        f"Linkbase {__version__} listening on {base}"
        + (" (every interface)" if host in ("0.0.0.0", "::") else ""),
        f"  Workbench  {base}/ui/",
        f"  API docs   {base}/docs (native and Laserfiche APIs; Arvados discovery document: "
        f"{base}/discovery/v1/apis/arvados/v1/rest)",
        f"  Database   {url} ({_backend(settings.database_url)})",
    ]
    if settings.system_root_token:
        lines.append("  Admin      LINKBASE_SYSTEM_ROOT_TOKEN acts as the system user (admin); "
                     "tokens issued before stay valid")
    elif first_token:
        lines.append(f"  Admin      token (shown once, keep it): {first_token}")
    else:
        lines.append("  Admin      the admin token was printed on the first start")
    lines.append(f"  Tokens     linkbase token create USERNAME{db_option}  (root is the admin)")
    if world is not None:
        lines.append("  Demo       sign in to the workbench as one of these (username / password):")
        lines += [f"               {p.username} / {p.password}  ({p.role})"
                  for p in world.people]
    lines.append("Press Ctrl+C to stop.")
    print("\n".join(lines), file=sys.stderr, flush=True)


def demo(database: DatabaseOption = None) -> None:
    """Fill a new, empty database with a small demo world and print how to sign in.

    People (alice, bob, carol) with passwords and API tokens, a role, projects and collections,
    Laserfiche folders and documents in repository r-default, relation links with custom
    properties, stars and tags. Refused (exit 1) when the database already holds objects.

    Example: linkbase demo --database sqlite:///linkbase.db && linkbase serve
    """
    from linkbase.bootstrap import prepare_database
    from linkbase.services.context import Services
    from linkbase.services.demo import fill

    settings = _settings(database)
    world = fill(Services(prepare_database(settings), settings))
    print(f"Demo world created in {settings.database_url}. Sign in at /ui/ with a username and "
          "password, or use a token:")
    for person in world.people:
        print(f"  {person.username:<6} password {person.password:<11} token {person.token}"
              f"  ({person.role})")
    print("Try: LINKBASE_URL=http://127.0.0.1:8000 LINKBASE_TOKEN=<alice's token> "
          "linkbase link list --filters '[[\"link_class\", \"=\", \"relation\"]]'")


def register(app: typer.Typer) -> None:
    """Add the server-side commands to the ``linkbase`` CLI."""
    app.command("serve", cls=Command)(serve)
    app.command("demo", cls=Command)(demo)
    from linkbase.cli import admin

    admin.register(app)
