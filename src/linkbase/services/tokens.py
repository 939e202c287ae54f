"""API tokens (spec §10, §1.2): issue, authenticate, list and revoke.

Only a SHA-256 digest of each secret is stored; the secret is shown once, at creation (and to the
request that presents it, as ``current``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from linkbase.domain import uuids
from linkbase.domain.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from linkbase.domain.resources import API_CLIENT_AUTHORIZATIONS
from linkbase.domain.timestamps import now_micros, parse_timestamp
from linkbase.domain.uuids import WellKnown
from linkbase.services.context import Caller
from linkbase.services.permissions import Access
from linkbase.services.records import fetch_record, insert_record
from linkbase.services.validation import clean_attrs
from linkbase.storage import tables

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
    row = conn.execute(sa.select(_tokens).where(_tokens.c.token_digest == digest(secret))).first()
    if row is None:
        return None
    token = dict(row._mapping)
    if token_uuid is not None and token_uuid != token["uuid"]:
        return None
    if token["expires_at"] is not None and token["expires_at"] <= now_micros():
        return None
    user = fetch_record(conn, tables.users, token["owner_uuid"])
    if user is None:
        return None
    return _caller(user, token["uuid"], secret, tuple(token["scopes"] or []))


def _caller(user: dict[str, Any], token_uuid: str, secret: str,
            scopes: tuple[str, ...]) -> Caller:
    return Caller(
        uuid=user["uuid"], is_admin=bool(user["is_admin"]), is_active=bool(user["is_active"]),
        username=user["username"], token_uuid=token_uuid, token_secret=secret, scopes=scopes,
        user=user,
    )
