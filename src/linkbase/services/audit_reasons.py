"""Audit reasons (Laserfiche): the reasons a user may give for deleting an entry, configured by
``LINKBASE_AUDIT_REASONS`` (a JSON list of names; none by default). Reason ``n`` (from 1) is the
``n``-th name, of ``auditEventType`` ``DeleteEntry``. A reason given with a delete is recorded
in the audit log entries of everything the delete removes (``properties.reason``)."""

from __future__ import annotations

from typing import Any

from linkbase.domain.errors import InvalidArgumentError
from linkbase.services.context import Caller, Services
from linkbase.services.permissions import Access

DELETE_ENTRY = "DeleteEntry"


def configured(services: Services) -> list[dict[str, Any]]:
    """Every configured reason as the Laserfiche face shows it."""
    return [{"id": index, "name": name, "auditEventType": DELETE_ENTRY}
            for index, name in enumerate(services.settings.audit_reasons, start=1)]


def for_repository(services: Services, caller: Caller, repository_id: str
                   ) -> list[dict[str, Any]]:
    """Use case: the reasons, as seen from a repository (NotFoundError if unknown)."""
    from linkbase.services.entries import get_repository

    def check(access: Access) -> None:
        get_repository(access.conn, repository_id)

    services.uow.read(caller, check)
    return configured(services)


def for_delete(services: Services, reason_id: int | None, comment: str | None
               ) -> dict[str, Any] | None:
    """What the log records for a delete given ``reason_id`` and ``comment`` (None: neither);
    an unknown reason is an InvalidArgumentError."""
    if reason_id is None and not comment:
        return None
    recorded: dict[str, Any] = {}
    if reason_id is not None:
        known = {r["id"]: r for r in configured(services)}
        if reason_id not in known:
            raise InvalidArgumentError(f"Unknown audit reason id {reason_id}")
        recorded["auditReasonId"] = reason_id
        recorded["name"] = known[reason_id]["name"]
    if comment:
        recorded["comment"] = comment
    return recorded
