"""Bringing a database to a servable state: migrations, then the seed objects."""

from __future__ import annotations

from linkbase.domain.uuids import WellKnown
from linkbase.services.seeding import seed
from linkbase.settings import Settings
from linkbase.storage.database import Database
from linkbase.storage.migrate import upgrade


def prepare_database(settings: Settings) -> Database:
    """Open the database, apply pending migrations and seed it if new."""
    db = Database(settings.database_url)
    upgrade(db.engine)
    with db.write() as conn:
        seed(conn, WellKnown(settings.cluster_id))
    return db
