"""Etags: lowercase base36 of the MD5 of the canonical JSON of an object's stored attributes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping


def compute_etag(stored: Mapping[str, object]) -> str:
    """An opaque tag that changes whenever any stored attribute changes value."""
    canonical = json.dumps(stored, sort_keys=True, separators=(",", ":"), default=str)
    number = int.from_bytes(hashlib.md5(canonical.encode()).digest(), "big")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
    return out or "0"
