"""API tokens (spec §10, §1.2): issue, authenticate, list and revoke.

Only a SHA-256 digest of each secret is stored; the secret is shown once, at creation (and to the
request that presents it, as ``current``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase import checkpoints
from linkbase.domain import uuids
from linkbase.domain.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from linkbase.domain.limits import MAX_SECRET_LENGTH, check_text
from linkbase.domain.resources import API_CLIENT_AUTHORIZATIONS
from linkbase.domain.timestamps import now_micros, parse_timestamp
from linkbase.domain.uuids import WellKnown
from linkbase.services import login_throttle
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import Access
from linkbase.services.records import fetch_record, insert_record
from linkbase.services.validation import clean_attrs
from linkbase.storage import tables
from linkbase.storage.driver_queries import DriverQuery

_tokens = tables.api_client_authorizations
_SCOPE_RE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD) /\S*$")
_ALPHABET = string.digits + string.ascii_lowercase


def digest(secret: str) -> str:
    """The stored form of a token secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """About 50 random ``[0-9a-z]`` characters."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(50))


def issue_token(conn: Connection, wk: WellKnown, owner_uuid: str, *, actor_uuid: str,
                expires_at: int | None = None, scopes: list[str] | None = None,
                uuid: str | None = None) -> dict[str, Any]:
    """Store a new token for ``owner_uuid``; the returned record carries ``api_token``."""
    secret = new_secret()
    record = insert_record(
        conn,
        _tokens,
        {
            "uuid": uuid or uuids.new_uuid(wk.cluster_id, uuids.TOKEN), "owner_uuid": owner_uuid,
            "token_digest": digest(secret), "expires_at": expires_at,
            "scopes": scopes if scopes is not None else ["all"], "modified_at": None,
            "modified_by_user_uuid": None,
        },
        actor_uuid,
    )
    record["api_token"] = secret
    return record


def create_token(access: Access, attrs: dict[str, Any]) -> dict[str, Any]:
    """The ``create`` method: a token for yourself, or (admins) for another user."""
    attrs = clean_attrs(API_CLIENT_AUTHORIZATIONS, attrs)
    owner = attrs.get("owner_uuid") or access.caller.uuid
    if owner != access.caller.uuid:
        user = fetch_record(access.conn, tables.users, owner)
        if user is None:
            raise InvalidArgumentError(f"Owner uuid '{owner}' not found")
        if not access.caller.is_admin:
            raise PermissionDeniedError("Forbidden")
    scopes = attrs.get("scopes", ["all"])
    if not isinstance(scopes, list) or not all(
        isinstance(s, str) and (s == "all" or _SCOPE_RE.match(s)) for s in scopes
    ):
        raise InvalidArgumentError("Invalid scopes")
    expires = attrs.get("expires_at")
    return issue_token(
        access.conn, access.wk, owner, actor_uuid=access.caller.uuid,
        expires_at=parse_timestamp(expires) if expires is not None else None, scopes=scopes,
        uuid=_assigned_uuid(access, attrs.get("uuid")),
    )


def _assigned_uuid(access: Access, requested: object) -> str | None:
    """An admin-chosen token uuid (well-formed, ``gj3su``, unused); others → 422 (§1.4)."""
    if requested is None:
        return None
    if not access.caller.is_admin:
        raise InvalidArgumentError("Uuid assignment not permitted")
    if (
        not isinstance(requested, str)
        or uuids.infix_of(requested) != uuids.TOKEN
        or requested == access.wk.system_root_token
    ):
        raise InvalidArgumentError(f"Invalid uuid '{requested}' for ApiClientAuthorization")
    if fetch_record(access.conn, _tokens, requested) is not None:
        raise InvalidArgumentError(f"Uuid '{requested}' is already in use")
    return requested


def get_token(access: Access, uuid: str) -> dict[str, Any]:
    """Own tokens (admins: all); 404 otherwise."""
    row = fetch_record(access.conn, _tokens, uuid)
    if row is None or not access.readable_row("api_client_authorizations", row):
        raise NotFoundError()
    return row


def delete_token(access: Access, uuid: str) -> dict[str, Any]:
    """Revoke a token: it is refused from the next request on."""
    row = get_token(access, uuid)
    from linkbase.services.deletion import delete_objects
    from linkbase.storage.closure import closure_change

    with closure_change(access.conn) as change:
        delete_objects(access.conn, change, [uuid])
    return row


def current_token(services: Services, caller: Caller) -> dict[str, Any]:
    """Use case: the record of the token authenticating this request (with its secret)."""
    wk = services.well_known
    if caller.token_uuid == wk.system_root_token:
        return root_token_record(wk, caller.token_secret or "")

    def load(access: Access) -> dict[str, Any]:
        row = fetch_record(access.conn, _tokens, caller.token_uuid or "")
        if row is None:
            raise NotFoundError()
        return row

    row = services.uow.read(caller, load)
    row["api_token"] = caller.token_secret
    return row


def is_plausible_secret(presented: str) -> bool:
    """Printable ASCII within ``MAX_SECRET_LENGTH``: every token Linkbase issues or accepts."""
    return len(presented) <= MAX_SECRET_LENGTH and presented.isascii() and presented.isprintable()


def authenticate_bearer(services: Services, presented: str | None) -> Caller | None:
    """Use case: the caller a presented bearer value stands for (None: missing or invalid)."""
    if not presented:
        return None
    root = services.settings.system_root_token
    return services.uow.read_as_server(
        lambda access: authenticate(access.conn, access.wk, presented, root))


#: Lifetime of an access token issued by the password exchange (the Laserfiche Token endpoint).
EXCHANGE_LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True)
class ExchangedToken:
    """What the password exchange hands out: a new API token of the user."""

    api_token: str
    expires_in: int


def exchange_password(services: Services, repository_id: str, grant_type: str | None,
                      username: str | None, password: str | None,
                      address: str | None = None) -> ExchangedToken:
    """Use case: trade a username and a password (or one of the user's API tokens) for a new
    API token of that user (the Laserfiche password grant).

    The slow part, checking a password hash, runs outside any transaction: looking the user up
    is a read, issuing the token a short write. A token traded in passes on its scopes and never
    yields a token that outlives it. Unknown users, wrong passwords, tokens of another user and
    inactive users are all the same UnauthenticatedError, each counted as a failure of
    ``username`` and of the client ``address`` (``login_throttle``): past the limits, the
    exchange is refused (TooManyAttemptsError) before any password is checked.
    """
    from linkbase.services.entries import get_repository
    from linkbase.services.users import find_user_by_login, verify_password

    def look_up(access: Access) -> tuple[dict[str, Any] | None, Caller | None, int | None]:
        get_repository(access.conn, repository_id)
        if grant_type != "password":
            raise InvalidArgumentError("unsupported_grant_type: only 'password' is supported")
        if not username or not password:
            raise InvalidArgumentError("username and password are required")
        check_text(username, "username")
        check_text(password, "password", max_length=MAX_SECRET_LENGTH)
        login_throttle.check(access.conn, attempt)
        user = find_user_by_login(access.conn, username)
        presented = authenticate(access.conn, access.wk, password,
                                 services.settings.system_root_token)
        expiry = None
        if presented is not None and presented.token_uuid is not None:
            row = fetch_record(access.conn, _tokens, presented.token_uuid)
            expiry = row["expires_at"] if row is not None else None
        return user, presented, expiry

    attempt = login_throttle.Attempt.of(services.settings, username or "", address)

    def refuse() -> UnauthenticatedError:
        services.uow.write_as_server(
            lambda access: login_throttle.record_failure(access.conn, services.settings, attempt))
        return UnauthenticatedError("The username or password is incorrect")

    user, presented, presented_expiry = services.uow.read_as_server(look_up)
    services.uow.end_snapshot()
    assert password is not None
    checkpoints.reach("tokens.checking_password")
    scopes: list[str] = ["all"]
    expires_at = now_micros() + EXCHANGE_LIFETIME_SECONDS * 1_000_000
    if presented is not None and user is not None and presented.uuid == user["uuid"]:
        scopes = list(presented.scopes)
        if presented_expiry is not None:
            expires_at = min(expires_at, int(presented_expiry))
    elif not verify_password(user, password):
        raise refuse()
    assert user is not None
    if not user["is_active"]:
        raise refuse()

    def issue(access: Access) -> dict[str, Any]:
        login_throttle.clear(access.conn, attempt)
        return issue_token(access.conn, access.wk, user["uuid"], actor_uuid=user["uuid"],
                           expires_at=expires_at, scopes=scopes)

    record = services.uow.write_as_server(issue)
    expires_in = max(0, (expires_at - now_micros()) // 1_000_000)
    return ExchangedToken(record["api_token"], int(expires_in))


def issue_for(services: Services, login: str, expires_in: int | None = None) -> str:
    """Use case (local administration): a new token for a user; returns its secret."""
    from linkbase.services.users import find_user

    def issue(access: Access) -> dict[str, Any]:
        user = find_user(access.conn, login)
        expires = now_micros() + expires_in * 1_000_000 if expires_in is not None else None
        return issue_token(access.conn, access.wk, user["uuid"], actor_uuid=access.wk.system_user,
                           expires_at=expires)

    return str(services.uow.write_as_server(issue)["api_token"])


def first_start_token(services: Services) -> str | None:
    """Use case: on a server's first start, an admin token to print once (None afterwards:
    the system user already has a token)."""

    def issue(access: Access) -> str | None:
        wk = access.wk
        existing = access.conn.execute(
            sa.select(_tokens.c.uuid).where(_tokens.c.owner_uuid == wk.system_user)
        ).first()
        if existing is not None:
            return None
        return str(issue_token(access.conn, wk, wk.system_user,
                               actor_uuid=wk.system_user)["api_token"])

    return services.uow.write_as_server(issue)


def root_token_record(wk: WellKnown, secret: str) -> dict[str, Any]:
    """The synthetic record of ``LINKBASE_SYSTEM_ROOT_TOKEN`` as ``current`` shows it."""
    return {
        "uuid": wk.system_root_token, "owner_uuid": wk.system_user, "created_at": 0,
        "modified_at": None, "modified_by_user_uuid": None, "expires_at": None,
        "scopes": ["all"], "api_token": secret, "etag": "0",
    }


def authenticate(conn: Connection, wk: WellKnown, presented: str,
                 root_token: str | None) -> Caller | None:
    """Resolve a bearer value (bare secret or ``v2/uuid/secret``) to a caller, or None."""
    if not is_plausible_secret(presented):  # no token holds it; never sent to the database
        return None
    token_uuid: str | None = None
    secret = presented
    if presented.startswith("v2/"):
        parts = presented.split("/")
        if len(parts) != 3:
            return None
        token_uuid, secret = parts[1], parts[2]
    if root_token and secrets.compare_digest(secret, root_token):
        if token_uuid not in (None, wk.system_root_token):
            return None
        user = fetch_record(conn, tables.users, wk.system_user)
        if user is None:
            return None
        return _caller(user, wk.system_root_token, secret, ("all",))
    rows = _TOKEN_AND_USER.mappings(conn, {"digest": digest(secret)})
    if not rows:
        return None
    found = rows[0]
    if token_uuid is not None and token_uuid != found["token_uuid"]:
        return None
    if found["token_expires_at"] is not None and found["token_expires_at"] <= now_micros():
        return None
    user = {column.name: found[column.name] for column in tables.users.c}
    return _caller(user, found["token_uuid"], secret, tuple(found["token_scopes"] or []))


#: Token resolution is on every request's path: one indexed lookup that joins the token to its
#: user, compiled once and run on the driver's cursor (``storage/driver_queries.py``), so each
#: request only binds the digest. Nothing is cached across requests, so a revoked or expired
#: token is refused by the very next request, in every process.
_TOKEN_AND_USER = DriverQuery(lambda: (
    sa.select(
        _tokens.c.uuid.label("token_uuid"),
        _tokens.c.expires_at.label("token_expires_at"),
        _tokens.c.scopes.label("token_scopes"),
        *tables.users.c,
    )
    .join(tables.users, tables.users.c.uuid == _tokens.c.owner_uuid)
    .where(_tokens.c.token_digest == sa.bindparam("digest"))
))


def _caller(user: dict[str, Any], token_uuid: str, secret: str,
            scopes: tuple[str, ...]) -> Caller:
    return Caller(
        uuid=user["uuid"], is_admin=bool(user["is_admin"]), is_active=bool(user["is_active"]),
        username=user["username"], token_uuid=token_uuid, token_secret=secret, scopes=scopes,
        user=user,
    )
