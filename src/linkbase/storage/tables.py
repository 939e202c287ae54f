"""The SQL schema, as SQLAlchemy Core tables.

Timestamps are stored as integer microseconds since the Unix epoch (UTC): exact, identically
ordered and compared on SQLite and PostgreSQL, so a timestamp the server emitted and a client
sends back in a filter always denote the same instant (keyset paging depends on it).
``properties`` is JSON on SQLite and ``jsonb`` (with a GIN index) on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

JsonDoc = sa.JSON().with_variant(JSONB(), "postgresql")
UUID_LEN = 27
Uuid = sa.String(UUID_LEN)
#: Head/tail references may be arbitrary strings, not only uuids.
Reference = sa.String(255)
Micros = sa.BigInteger()


def _common_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("uuid", Uuid, primary_key=True),
        sa.Column("owner_uuid", Uuid, nullable=True, index=True),
        sa.Column("created_at", Micros, nullable=False),
        sa.Column("modified_at", Micros, nullable=True),
        sa.Column("modified_by_user_uuid", Uuid, nullable=True),
        sa.Column("etag", sa.String(32), nullable=False),
    ]


users = sa.Table(
    "users",
    metadata,
    *_common_columns(),
    sa.Column("email", sa.String(255), nullable=True, index=True),
    sa.Column("username", sa.String(255), nullable=True, unique=True),
    sa.Column("first_name", sa.String(255), nullable=True),
    sa.Column("last_name", sa.String(255), nullable=True),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    sa.Column("prefs", JsonDoc, nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Index("ix_users_modified_at_uuid", "modified_at", "uuid"),
)

groups = sa.Table(
    "groups",
    metadata,
    *_common_columns(),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("group_class", sa.String(16), nullable=False),
    sa.Column("properties", JsonDoc, nullable=False),
    sa.UniqueConstraint("owner_uuid", "name", name="uq_groups_owner_uuid_name"),
    sa.Index("ix_groups_modified_at_uuid", "modified_at", "uuid"),
)

collections = sa.Table(
    "collections",
    metadata,
    *_common_columns(),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("properties", JsonDoc, nullable=False),
    sa.Column("manifest_text", sa.Text, nullable=False),
    sa.Column("portable_data_hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("owner_uuid", "name", name="uq_collections_owner_uuid_name"),
    sa.Index("ix_collections_modified_at_uuid", "modified_at", "uuid"),
)

api_client_authorizations = sa.Table(
    "api_client_authorizations",
    metadata,
    *_common_columns(),
    #: SHA-256 hex digest of the secret; the secret itself is never stored.
    sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
    sa.Column("expires_at", Micros, nullable=True),
    sa.Column("scopes", JsonDoc, nullable=False),
    sa.Index("ix_api_client_authorizations_created_at_uuid", "created_at", "uuid"),
)

links = sa.Table(
    "links",
    metadata,
    #: Integer id used by the Laserfiche face; never shown on the Arvados face.
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("uuid", Uuid, nullable=False, unique=True),
    sa.Column("owner_uuid", Uuid, nullable=True, index=True),
    sa.Column("created_at", Micros, nullable=False),
    sa.Column("modified_at", Micros, nullable=True),
    sa.Column("modified_by_user_uuid", Uuid, nullable=True),
    sa.Column("etag", sa.String(32), nullable=False),
    sa.Column("link_class", sa.String(255), nullable=True),
    sa.Column("name", sa.String(255), nullable=True),
    # Lookups by head or tail alone use the (head|tail, link_class) indexes below.
    sa.Column("tail_uuid", Reference, nullable=True),
    sa.Column("head_uuid", Reference, nullable=True),
    sa.Column("properties", JsonDoc, nullable=False),
    sa.Index("ix_links_link_class_name", "link_class", "name"),
    sa.Index("ix_links_modified_at_uuid", "modified_at", "uuid"),
    sa.Index("ix_links_tail_uuid_link_class", "tail_uuid", "link_class"),
    sa.Index("ix_links_head_uuid_link_class", "head_uuid", "link_class"),
    # A published port's name is unique (spec §5.4): enforced by the database, so two concurrent
    # creates cannot both pass the service's check.
    sa.Index("uq_links_published_port_name", "name", unique=True,
             sqlite_where=sa.text("link_class = 'published_port'"),
             postgresql_where=sa.text("link_class = 'published_port'")),
    # A Laserfiche shortcut (a ``shortcut`` link owned by its folder) has a name unique in its
    # folder, like every entry; enforced here so concurrent creates cannot both pass the check.
    sa.Index("uq_links_shortcut_owner_uuid_name", "owner_uuid", "name", unique=True,
             sqlite_where=sa.text("link_class = 'shortcut'"),
             postgresql_where=sa.text("link_class = 'shortcut'")),
    # GIN serves jsonb containment on PostgreSQL; on SQLite it would be a useless B-tree over
    # the JSON text that every insert pays for, so it exists on PostgreSQL only.
    sa.Index("ix_links_properties_gin", "properties", postgresql_using="gin").ddl_if(
        dialect="postgresql"
    ),
)

#: The edges of the permission graph (spec §4.3), one per source: an ownership edge
#: ``owner_uuid -> uuid`` for each group and user (source = that object) and one edge per
#: permission link (source = the link). Kept in step with those rows by the services, so the
#: closure walk reads one indexed table on either backend.
permission_edges = sa.Table(
    "permission_edges",
    metadata,
    sa.Column("source_uuid", Uuid, primary_key=True),
    sa.Column("tail_uuid", Reference, nullable=False, index=True),
    sa.Column("head_uuid", Reference, nullable=False, index=True),
    sa.Column("level", sa.SmallInteger, nullable=False),
)

#: The group closure (spec §4.3, DESIGN §2): for each group G that is the head of some edge, one
#: row per target T reached by a walk from G that continues only out of groups, with the spec's
#: aggregates (max of walk levels, any walk with traverse_owned), plus the reflexive row
#: ``(G, G, 3, true)``. A user's ``MP(P, T)`` is derived from P's out-edges joined to this table
#: (``services.permissions``), so its size grows with groups × what they reach, never users².
#: Maintained incrementally by ``storage.closure``.
group_closure = sa.Table(
    "group_closure",
    metadata,
    sa.Column("group_uuid", Reference, primary_key=True),
    sa.Column("target_uuid", Reference, primary_key=True),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("traverse_owned", sa.Boolean, nullable=False),
    #: True when the target is a user: USERS(U, L) candidates are an index range scan.
    sa.Column("target_is_user", sa.Boolean, nullable=False),
    sa.Index("ix_group_closure_target_uuid_group_uuid", "target_uuid", "group_uuid"),
    sa.Index("ix_group_closure_group_uuid_target_is_user_traverse_owned",
             "group_uuid", "target_is_user", "traverse_owned"),
)

link_definitions = sa.Table(
    "link_definitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_label", sa.String(255), nullable=False),
    sa.Column("target_label", sa.String(255), nullable=False),
    sa.Column("description", sa.String(255), nullable=False, unique=True),
)

repositories = sa.Table(
    "repositories",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    #: The project that is this repository's root folder (entry 1).
    sa.Column("root_uuid", Uuid, nullable=False, unique=True),
    sa.Column("next_entry_id", sa.Integer, nullable=False),
)

#: Integer entry ids of the Laserfiche face: one per project (Folder) or collection (Document)
#: inside a repository's root project tree.
entries = sa.Table(
    "entries",
    metadata,
    sa.Column("repository_id", sa.String(64), primary_key=True),
    sa.Column("entry_id", sa.Integer, primary_key=True),
    sa.Column("object_uuid", Uuid, nullable=False, unique=True),
)

#: Failed sign-ins per key (``user:<name>`` or ``addr:<ip>``) in the current window, and until
#: when the key is locked out (``services/login_throttle.py``). Shared by every server process.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", Micros, nullable=False),
    sa.Column("locked_until", Micros, nullable=True),
)

#: Never holds a row: its table lock is the reference guard of ``storage.locks``, which keeps a
#: bulk write's references valid against concurrent deletes without locking every referenced row.
reference_guard = sa.Table(
    "reference_guard",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
)

#: The audit log (Arvados ``logs``): one row per row change, written by ``storage.audit`` in the
#: same transaction as the change. ``id`` increases in commit order (``storage.audit``); the
#: Arvados uuid is derived from it (``{cluster}-57u5n-{id, 15 digits}``), so it is not stored.
#: ``owner_uuid`` is who made the change; ``properties`` holds ``old_attributes`` and
#: ``new_attributes`` as stored (no secrets) and, where given, ``reason``.
logs = sa.Table(
    "logs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("object_uuid", Reference, nullable=False),
    sa.Column("object_owner_uuid", Reference, nullable=True),
    sa.Column("event_type", sa.String(16), nullable=False),
    sa.Column("event_at", Micros, nullable=False),
    sa.Column("owner_uuid", Uuid, nullable=True),
    sa.Column("request_id", sa.String(1024), nullable=True),
    sa.Column("properties", JsonDoc, nullable=False),
    sa.Index("ix_logs_object_uuid_id", "object_uuid", "id"),
)
