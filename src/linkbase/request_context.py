"""What the current request says about itself, for whatever it changes: its id and, where an
API takes one, the reason given for a change. Set by the faces (context variables follow the
request into the worker thread that runs its transaction); read by the unit of work, which
records both in the audit log."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

#: The request's ``X-Request-Id`` (``api.request_id``).
REQUEST_ID: ContextVar[str | None] = ContextVar("linkbase_request_id", default=None)
#: An audit reason given with the change (Laserfiche entry delete).
AUDIT_REASON: ContextVar[dict[str, Any] | None] = ContextVar("linkbase_audit_reason",
                                                             default=None)
