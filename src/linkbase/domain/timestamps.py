"""Timestamps: stored as integer microseconds (UTC), shown with nine fractional digits.

The wire form ``YYYY-MM-DDTHH:MM:SS.ffffff000Z`` parses back to the identical integer, which is
what makes filters on values the server emitted exact (spec §1.5).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from linkbase.domain.errors import InvalidArgumentError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)


def now_micros() -> int:
    """The current time in integer microseconds since the epoch."""
    return time.time_ns() // 1000


def format_micros(micros: int | None) -> str | None:
    """Render stored microseconds as the Arvados wire form (None stays None)."""
    if micros is None:
        return None
    # isoformat of a naive moment: half the cost of strftime, on every timestamp of every page.
    moment = _NAIVE_EPOCH + timedelta(microseconds=micros)
    return moment.isoformat(timespec="microseconds") + "000Z"


def to_datetime(micros: int) -> datetime:
    """Stored microseconds as an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=micros)


def parse_timestamp(value: str) -> int:
    """Parse an ISO 8601 timestamp (fraction and offset optional, date-only = midnight UTC).

    Fractions beyond microseconds are truncated, so the nine-digit form round-trips exactly.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"Invalid timestamp '{value}'")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python's parser accepts at most 6 fractional digits: cut longer fractions.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        index = 0
        while index < len(rest) and rest[index].isdigit():
            digits += rest[index]
            index += 1
        text = head + "." + (digits[:6] or "0").ljust(6, "0") + rest[index:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidArgumentError(f"Invalid timestamp '{value}'") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
