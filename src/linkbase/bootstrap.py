"""Bringing a database to a servable state: migrations, then the seed objects."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from linkbase.domain.errors import ConfigurationError
from linkbase.domain.uuids import WellKnown
from linkbase.services.seeding import seed
from linkbase.settings import Settings
from linkbase.storage.database import Database
from linkbase.storage.engine import display_url
from linkbase.storage.migrate import upgrade


def prepare_database(settings: Settings) -> Database:
    """Open the database, apply pending migrations and seed it if new.

    A database that cannot be opened (unsupported URL, server down, wrong credentials, missing
    directory) is a :class:`ConfigurationError` with a one-line reason, not a driver traceback.
    """
    db = Database(settings.database_url, pool_size=settings.request_threads)
    try:
        upgrade(db.engine)
        with db.write() as conn:
            seed(conn, WellKnown(settings.cluster_id))
    except DBAPIError as exc:
        db.dispose()
        if not exc.connection_invalidated and not _is_connect_failure(exc):
            raise
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigurationError(
            f"cannot open the database {display_url(settings.database_url)}: {reason}"
        ) from exc
    return db


def _is_connect_failure(exc: DBAPIError) -> bool:
    """The driver could not connect or open the file (as opposed to a failing statement)."""
    return exc.statement is None or "unable to open database" in str(exc.orig)
