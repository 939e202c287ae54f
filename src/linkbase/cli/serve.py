"""Server-side administration commands: they act on the database directly, not over HTTP."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from linkbase.settings import Settings

if TYPE_CHECKING:
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


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: DatabaseOption = None,
    workers: Annotated[int, typer.Option(
        min=1, help="Server processes sharing the port (PostgreSQL: up to one per core; "
        "SQLite: writes still go one at a time).")] = 1,
) -> None:
    """Start the server, bringing the schema up to date first.

    Example: linkbase serve --port 8000 --database sqlite:///linkbase.db --workers 2
    """
    import uvicorn

    from linkbase.api.app import create_app
    from linkbase.api.observability import configure_logging
    from linkbase.bootstrap import prepare_database

    configure_logging()
    settings = _settings(database)
    db = prepare_database(settings)  # once, before any worker starts
    if not settings.system_root_token:
        _first_start_token(settings, db)
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "warning",
                               "access_log": False}
    if workers == 1:
        uvicorn.run(create_app(settings, db), **options)
        return
    db.dispose()
    # Each worker is a fresh process that builds its app from the environment (the database
    # is already migrated and seeded); every guarantee between requests holds across them
    # because all ordering is done by the database (storage.locks).
    os.environ["LINKBASE_DATABASE_URL"] = settings.database_url
    uvicorn.run("linkbase.api.app:app_from_environment", factory=True, workers=workers,
                **options)


def _first_start_token(settings: Settings, db: Database) -> None:
    """Without LINKBASE_SYSTEM_ROOT_TOKEN, print an admin token once, on the first start."""
    from linkbase.services.context import Services
    from linkbase.services.tokens import first_start_token

    token = first_start_token(Services(db, settings))
    if token is not None:
        print(f"Admin token (shown once): {token}", file=sys.stderr, flush=True)


def register(app: typer.Typer) -> None:
    """Add the server-side commands to the ``linkbase`` CLI."""
    app.command("serve")(serve)
    from linkbase.cli import admin

    admin.register(app)
