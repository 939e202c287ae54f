"""Server-side administration commands: they act on the database directly, not over HTTP."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

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
) -> None:
    """Start the server, bringing the schema up to date first.

    Example: linkbase serve --port 8000 --database sqlite:///linkbase.db
    """
    import uvicorn

    from linkbase.api.app import create_app
    from linkbase.api.observability import configure_logging
    from linkbase.bootstrap import prepare_database

    configure_logging()
    settings = _settings(database)
    db = prepare_database(settings)
    if not settings.system_root_token:
        _first_start_token(settings, db)
    app = create_app(settings, db)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


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
