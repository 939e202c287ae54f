"""Users (spec §7): admin-created, set up as members of All users, with passwords for Laserfiche."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from linkbase.domain.levels import Level
from linkbase.domain.resources import USER_PUBLIC_ATTRIBUTES, USERS
from linkbase.domain.uuids import WellKnown
from linkbase.services.context import Caller, Services
from linkbase.services.deletion import delete_objects
from linkbase.services.permissions import Access
from linkbase.services.records import fetch_record, insert_record, update_record
from linkbase.services.seeding import system_permission_link
from linkbase.services.validation import clean_attrs, prepare_update
from linkbase.storage import tables
from linkbase.storage.closure import ClosureChange, closure_change
from linkbase.storage.locks import lock_permission_graph

_users = tables.users
_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_hasher = PasswordHasher()


def get_user(access: Access, uuid: str, *, for_update: bool = False) -> dict[str, Any]:
    """A user the caller may read (404 otherwise); ``for_update`` locks it."""
    row = fetch_record(access.conn, _users, uuid, for_update=for_update)
    if row is None or not access.readable_row("users", row):
        raise NotFoundError()
    return row


def as_seen_by(access: Access, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as the caller may see it: whole for admins and the user itself, else only the
    public attributes of spec §7 (the others are left out of the row, so no ``select`` brings
    them back)."""
    if access.caller.is_admin or row.get("uuid") == access.caller.uuid:
        return row
    return {k: v for k, v in row.items() if k in USER_PUBLIC_ATTRIBUTES}


def _check_username(conn: sa.Connection, username: object, uuid: str) -> None:
    if username is None:
        return
    if not isinstance(username, str) or not _USERNAME_RE.match(username):
        raise InvalidArgumentError(
            f"Username '{username}' must start with a letter and contain only alphanumerics"
        )
    clash = conn.execute(
        sa.select(_users.c.uuid).where(_users.c.username == username, _users.c.uuid != uuid)
    ).first()
    if clash is not None:
        raise InvalidArgumentError(f"Username '{username}' has already been taken")


def _derive_username(conn: sa.Connection, email: str | None) -> str | None:
    if not email or "@" not in email:
        return None  # spec §7: only an address with a local part names a user
    local = email.split("@", 1)[0].split("+", 1)[0]
    local = re.sub(r"^[^A-Za-z]+", "", local)
    base = re.sub(r"[^A-Za-z0-9]", "", local)
    if not base:
        return None
    candidate, n = base, 2
    while conn.execute(sa.select(_users.c.uuid).where(_users.c.username == candidate)).first():
        candidate = f"{base}{n}"
        n += 1
    return candidate


def set_up(conn: sa.Connection, change: ClosureChange, wk: WellKnown, user_uuid: str) -> None:
    """Make the user a member of All users (and visible to members), if not yet."""
    tables_links = tables.links
    for tail, head, name in ((user_uuid, wk.all_users, "can_write"),
                             (wk.all_users, user_uuid, "can_read")):
        found = conn.execute(
            sa.select(tables_links.c.uuid).where(
                tables_links.c.link_class == "permission", tables_links.c.tail_uuid == tail,
                tables_links.c.head_uuid == head, tables_links.c.name == name,
            )
        ).first()
        if found is None:
            system_permission_link(conn, change, wk, tail, head, name)


def create_user(access: Access, attrs: dict[str, Any], *, password: str | None = None
                ) -> dict[str, Any]:
    """Create an active, set-up user (admin only)."""
    conn = access.conn
    attrs = clean_attrs(USERS, attrs)
    if not access.caller.is_admin:
        raise PermissionDeniedError("Forbidden")
    lock_permission_graph(conn)  # a user's ownership edge, its manager grant, its set-up
    requested = attrs.pop("uuid", None)
    if requested is not None and (
        uuids.infix_of(requested) != uuids.USER or access.lookup(requested) is not None
    ):
        raise InvalidArgumentError(f"Invalid uuid '{requested}' for User")
    uuid = requested or uuids.new_uuid(access.wk.cluster_id, uuids.USER)
    is_admin = bool(attrs.get("is_admin") or False)
    is_active = attrs.get("is_active")
    is_active = True if is_active is None else bool(is_active)
    if is_admin and not is_active:
        raise InvalidArgumentError("Admin users cannot be inactive")
    prefs = attrs.get("prefs", {})
    if not isinstance(prefs, dict):
        raise InvalidArgumentError("Prefs must be a Hash")
    username = attrs.get("username")
    if username == "":
        username = None  # spec §7: stored as null, and not derived from the email either
    elif username is None:
        username = _derive_username(conn, attrs.get("email"))
    _check_username(conn, username, uuid)
    record = insert_record(
        conn,
        _users,
        {
            "uuid": uuid, "owner_uuid": access.wk.system_user, "email": attrs.get("email"),
            "username": username, "first_name": attrs.get("first_name"),
            "last_name": attrs.get("last_name"), "is_admin": is_admin, "is_active": is_active,
            "prefs": prefs,
            "password_hash": _hasher.hash(password) if password else None,
        },
        access.caller.uuid,
    )
    with closure_change(conn) as change:
        change.set_edge(uuid, access.wk.system_user, uuid, int(Level.MANAGE))
        change.add_principal(uuid)
        system_permission_link(conn, change, access.wk, access.wk.system_group, uuid,
                               "can_manage")
        if is_active:
            set_up(conn, change, access.wk, uuid)
    return record


def update_user(access: Access, uuid: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """Update a user: self, admins or writers; email/username/admin/active are admin matters."""
    conn = access.conn
    if "is_active" in attrs:
        lock_permission_graph(conn)  # (de)activation adds or removes the user's grants
    attrs, current = prepare_update(USERS, attrs, uuid,
                                    lambda u: get_user(access, u, for_update=True))
    attrs.pop("owner_uuid", None) if attrs.get("owner_uuid") == current["owner_uuid"] else None
    if "owner_uuid" in attrs:
        raise InvalidArgumentError("Owner uuid of a user cannot be changed")
    if "prefs" in attrs and not isinstance(attrs["prefs"], dict):
        raise InvalidArgumentError("Prefs must be a Hash")
    if attrs.get("username") == "":
        attrs["username"] = None  # spec §7
    is_self = uuid == access.caller.uuid
    if not (is_self or access.caller.is_admin or access.can(Level.WRITE, uuid, current["owner_uuid"])):
        raise PermissionDeniedError("Forbidden")
    if not access.caller.is_admin:
        for key in ("email", "username"):
            if key in attrs and attrs[key] != current[key]:
                raise PermissionDeniedError("Forbidden")
        attrs.pop("is_admin", None)
        attrs.pop("is_active", None)
    if "username" in attrs:
        _check_username(conn, attrs["username"], uuid)
    new_active = attrs.get("is_active", current["is_active"])
    new_admin = attrs.get("is_admin", current["is_admin"])
    if uuid == access.wk.system_user and (not new_active or not new_admin):
        raise InvalidArgumentError("The system user cannot lose admin or be deactivated")
    if new_admin and not new_active:
        if attrs.get("is_admin"):
            raise InvalidArgumentError("Admin users cannot be inactive")
        attrs["is_admin"] = False
    record = update_record(conn, _users, current, attrs, access.caller.uuid)
    if bool(current["is_active"]) != bool(record["is_active"]):
        with closure_change(conn) as change:
            if record["is_active"]:
                set_up(conn, change, access.wk, uuid)
            else:
                grants = [
                    row[0]
                    for row in conn.execute(
                        sa.select(tables.links.c.uuid).where(
                            tables.links.c.link_class == "permission",
                            tables.links.c.tail_uuid == uuid,
                        )
                    )
                ]
                delete_objects(conn, change, grants)
    return record


def delete_user(access: Access, uuid: str) -> dict[str, Any]:
    """Delete a user (admin only) with its tokens and the links it owns."""
    conn = access.conn
    lock_permission_graph(conn)
    current = get_user(access, uuid, for_update=True)
    if not access.caller.is_admin or uuid in (access.wk.system_user, access.wk.anonymous_user):
        raise PermissionDeniedError("Forbidden")
    for table in (tables.groups, tables.collections):
        if conn.execute(sa.select(table.c.uuid).where(table.c.owner_uuid == uuid)).first():
            raise InvalidArgumentError("User still owns groups or collections")
    owned = [
        row[0]
        for table in (tables.links, tables.api_client_authorizations)
        for row in conn.execute(sa.select(table.c.uuid).where(table.c.owner_uuid == uuid))
    ]
    with closure_change(conn) as change:
        delete_objects(conn, change, [uuid, *owned])
    return current


def current_user(services: Services, caller: Caller) -> dict[str, Any]:
    """Use case: the caller's own user record (inactive callers too)."""

    def load(access: Access) -> dict[str, Any]:
        row = fetch_record(access.conn, _users, caller.uuid)
        if row is None:
            raise NotFoundError()
        return row

    return services.uow.read(caller, load)


def find_user(conn: sa.Connection, login: str) -> dict[str, Any]:
    """A user by uuid, username or email (NotFoundError if none)."""
    row = conn.execute(sa.select(_users).where(_users.c.uuid == login)).first()
    found = dict(row._mapping) if row else find_user_by_login(conn, login)
    if found is None:
        raise NotFoundError(f"no such user '{login}'")
    return found


def add_user(services: Services, attrs: dict[str, Any], *, password: str | None = None
             ) -> dict[str, Any]:
    """Use case (local administration): create a user as the server itself."""
    return services.uow.write_as_server(create_user, attrs, password=password)


def all_users(services: Services) -> list[dict[str, Any]]:
    """Use case (local administration): every user, oldest first."""
    return services.uow.read_as_server(lambda access: [
        dict(r._mapping)
        for r in access.conn.execute(sa.select(_users).order_by(_users.c.created_at))
    ])


def change_password(services: Services, login: str, password: str) -> dict[str, Any]:
    """Use case (local administration): set a user's password; returns the user."""
    hashed = _hasher.hash(password)  # slow on purpose: outside the transaction

    def store(access: Access) -> dict[str, Any]:
        user = find_user(access.conn, login)
        access.conn.execute(_users.update().where(_users.c.uuid == user["uuid"])
                            .values(password_hash=hashed))
        return user

    return services.uow.write_as_server(store)


def set_password(conn: sa.Connection, user_uuid: str, password: str) -> None:
    """Store a salted argon2 hash of ``password``."""
    conn.execute(
        _users.update().where(_users.c.uuid == user_uuid).values(
            password_hash=_hasher.hash(password)
        )
    )


_DUMMY_HASH: list[str] = []


def verify_password(user: dict[str, Any] | None, password: str) -> bool:
    """Check ``password`` against the user's stored hash (False if none is set or no user).

    Without a user or a hash a dummy hash is checked all the same, so a wrong username costs
    as much time as a wrong password and response times do not tell which usernames exist.
    """
    stored = user.get("password_hash") if user is not None else None
    if not stored:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(_hasher.hash("linkbase: no such user"))
        stored = _DUMMY_HASH[0]
        user = None
    try:
        return bool(_hasher.verify(stored, password)) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def find_user_by_login(conn: sa.Connection, login: str) -> dict[str, Any] | None:
    """Resolve ``user``, ``user@domain`` (username or email) or ``domain\\user``."""
    candidates = [login]
    if "\\" in login:
        candidates.append(login.split("\\", 1)[1])
    if "@" in login:
        candidates.append(login.split("@", 1)[0])
    for candidate in candidates:
        row = conn.execute(
            sa.select(_users).where(sa.or_(_users.c.username == candidate,
                                           _users.c.email == candidate))
        ).first()
        if row is not None:
            return dict(row._mapping)
    return None
