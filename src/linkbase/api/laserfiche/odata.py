"""OData query options of the Laserfiche face: ``$select $orderby $top $skip $count`` and
``Prefer: [odata.]maxpagesize``, with absolute ``@odata.nextLink`` continuation URLs.

Property names match case-insensitively (the reference server is .NET) and are echoed in their
canonical camelCase form; an unknown property is a 400, never silently ignored, so a client's typo
does not turn into a wrong result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from linkbase.domain.errors import InvalidArgumentError

MAX_TOP = 150
MAX_ORDERBY_KEYS = 5
#: The largest page a client may ask for with ``Prefer: maxpagesize`` (larger asks are capped).
MAX_PAGE_SIZE = 1000
_ORDER_RE = re.compile(r"^\s*([A-Za-z@.]+)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)
_PAGE_RE = re.compile(r"^\s*(?:odata\.)?maxpagesize\s*=\s*(\S*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ODataQuery:
    """Validated options of one collection request."""

    select: tuple[str, ...] | None
    orderby: tuple[tuple[str, bool], ...]
    top: int | None
    skip: int
    count: bool
    page_size: int

    @property
    def limit(self) -> int:
        """How many items this response holds at most."""
        return self.page_size if self.top is None else min(self.top, self.page_size)


def _canonical(name: str, allowed: Sequence[str], option: str) -> str:
    lowered = {a.lower(): a for a in allowed}
    found = lowered.get(name.strip().lower())
    if found is None:
        raise InvalidArgumentError(f"Invalid {option}: unknown property '{name.strip()}'")
    return found


def parse_select(raw: str | None, allowed: Sequence[str]) -> tuple[str, ...] | None:
    """``$select``: a comma list of known properties (None: all)."""
    if raw is None:
        return None
    names = [n for n in raw.split(",") if n.strip()]
    if not names:
        raise InvalidArgumentError("Invalid $select: no property given")
    return tuple(dict.fromkeys(_canonical(n, allowed, "$select") for n in names))


def _non_negative(raw: str | None, option: str) -> int | None:
    if raw is None:
        return None
    text = raw.strip()
    if not re.fullmatch(r"\+?\d{1,9}", text):
        raise InvalidArgumentError(f"Invalid {option}: '{raw}' is not a non-negative integer")
    return int(text)


def parse_prefer(header: str | None) -> int | None:
    """The page size asked for by ``Prefer: maxpagesize=N`` or ``odata.maxpagesize=N``."""
    if header is None:
        return None
    size: int | None = None
    for part in header.split(","):
        match = _PAGE_RE.match(part)
        if match is None:
            continue
        value = _non_negative(match.group(1), "maxpagesize")
        if value is None or value < 1:
            raise InvalidArgumentError("Invalid Prefer: maxpagesize must be a positive integer")
        size = value
    return size


def parse_query(params: Mapping[str, str], prefer: str | None, *, properties: Sequence[str],
                orderable: Sequence[str], default_page: int) -> ODataQuery:
    """Validate the OData options of a collection request (InvalidArgumentError → 400)."""
    select = parse_select(params.get("$select"), properties)
    orderby: list[tuple[str, bool]] = []
    raw_order = params.get("$orderby")
    if raw_order is not None:
        parts = raw_order.split(",")
        if len(parts) > MAX_ORDERBY_KEYS:
            raise InvalidArgumentError(
                f"Invalid $orderby: at most {MAX_ORDERBY_KEYS} expressions are allowed")
        for part in parts:
            match = _ORDER_RE.match(part)
            if match is None:
                raise InvalidArgumentError(f"Invalid $orderby expression '{part.strip()}'")
            name = _canonical(match.group(1), orderable, "$orderby")
            orderby.append((name, (match.group(2) or "asc").lower() == "desc"))
    top = _non_negative(params.get("$top"), "$top")
    if top is not None and top > MAX_TOP:
        raise InvalidArgumentError(f"Invalid $top: the maximum value is {MAX_TOP}")
    skip = _non_negative(params.get("$skip"), "$skip") or 0
    raw_count = params.get("$count")
    if raw_count is None:
        count = False
    elif raw_count.strip().lower() in ("true", "false"):
        count = raw_count.strip().lower() == "true"
    else:
        raise InvalidArgumentError("Invalid $count: expected true or false")
    page = parse_prefer(prefer)
    page_size = min(page, MAX_PAGE_SIZE) if page is not None else default_page
    return ODataQuery(select, tuple(orderby), top, skip, count, page_size)


def next_link(query: ODataQuery, url: str, returned: int, has_more: bool) -> str | None:
    """The absolute URL of the next page, repeating every option with the next offset."""
    if not has_more or returned == 0:
        return None
    params: dict[str, str] = {}
    if query.select is not None:
        params["$select"] = ",".join(query.select)
    if query.orderby:
        params["$orderby"] = ",".join(f"{k} {'desc' if d else 'asc'}" for k, d in query.orderby)
    if query.top is not None:
        remaining = query.top - returned
        if remaining <= 0:
            return None
        params["$top"] = str(remaining)
    params["$skip"] = str(query.skip + returned)
    if query.count:
        params["$count"] = "true"
    return f"{url}?{urlencode(params, safe='$,')}"


def _none_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value)


def page_in_memory(items: list[dict[str, Any]], query: ODataQuery,
                   key_of: Callable[[dict[str, Any], str], Any] | None = None,
                   ) -> tuple[list[dict[str, Any]], int, bool]:
    """Order, skip and cut a small in-memory collection; returns (page, total, has_more).

    Ties are broken by ascending ``id`` so pages never overlap or skip items.
    """
    getter = key_of or (lambda item, key: item.get(key))
    ordered = sorted(items, key=lambda item: _none_last(item.get("id")))
    for key, desc in reversed(query.orderby):
        ordered.sort(key=lambda item, k=key: _none_last(getter(item, k)),  # type: ignore[misc]
                     reverse=desc)
    end = query.skip + query.limit
    return ordered[query.skip:end], len(ordered), len(ordered) > end


def select_fields(item: dict[str, Any], select: tuple[str, ...] | None,
                  always: Sequence[str] = ()) -> dict[str, Any]:
    """Keep only the selected properties (plus ``always``); left-out ones are absent."""
    if select is None:
        return item
    keep = set(select) | set(always)
    return {k: v for k, v in item.items() if k in keep}
