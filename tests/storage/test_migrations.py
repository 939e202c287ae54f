"""The shipped migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from linkbase.storage.engine import create_engine
from linkbase.storage.migrate import current_revision, upgrade
from linkbase.storage.tables import metadata


def test_migrations_match_the_declared_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) is not None
    upgrade(engine)  # idempotent: nothing left to apply
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        index_names = {ix["name"] for ix in sa.inspect(conn).get_indexes("links")}
    engine.dispose()
    if engine.dialect.name != "postgresql":
        # Autogenerate ignores ``ddl_if``: the GIN index is declared for PostgreSQL only.
        diff = [d for d in diff
                if not (d[0] == "add_index" and d[1].name == "ix_links_properties_gin")]
    assert diff == []
    assert ("ix_links_properties_gin" in index_names) == (engine.dialect.name == "postgresql")
    assert {"ix_links_head_uuid_link_class", "ix_links_tail_uuid_link_class",
            "ix_links_link_class_name", "ix_links_modified_at_uuid"} <= index_names
