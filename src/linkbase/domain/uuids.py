"""Arvados-style identifiers: ``{cluster}-{infix}-{15 [0-9a-z]}``, and the kinds they imply.

The kind of an object is decided by its uuid's infix alone (whatever the cluster prefix), so every
layer can classify a reference without a database lookup.
"""

from __future__ import annotations

import re
import secrets
import string

UUID_RE = re.compile(r"^[0-9a-z]{5}-[0-9a-z]{5}-[0-9a-z]{15}$")
PDH_RE = re.compile(r"^([0-9a-f]{32})\+(\d+)(\+\S*)?$")
_ALPHABET = string.digits + string.ascii_lowercase

USER = "tpzed"
GROUP = "j7d0g"
COLLECTION = "4zz18"
LINK = "o0j2j"
TOKEN = "gj3su"
#: Audit log entries (served, but not objects of the graph: see ``services.logs``).
LOG = "57u5n"

#: Kinds Linkbase stores and serves.
STORED_KINDS: dict[str, str] = {
    USER: "arvados#user",
    GROUP: "arvados#group",
    COLLECTION: "arvados#collection",
    LINK: "arvados#link",
    TOKEN: "arvados#apiClientAuthorization",
}

#: Kinds Linkbase knows by name but does not store (treated as ownerless objects).
FOREIGN_KINDS: dict[str, str] = {
    "57u5n": "arvados#log",
    "xvhdp": "arvados#containerRequest",
    "dz642": "arvados#container",
    "7fd4e": "arvados#workflow",
    "2x53u": "arvados#virtualMachine",
    "fngyi": "arvados#authorizedKey",
    "bi6l4": "arvados#keepService",
    "oss07": "arvados#credential",
    "8i9sb": "arvados#job",
    "d1hrv": "arvados#pipelineInstance",
    "s0uqq": "arvados#repository",
    "7ekkf": "arvados#node",
}

KIND_BY_INFIX: dict[str, str] = {**STORED_KINDS, **FOREIGN_KINDS}


def _normalise_kind_name(kind: str) -> str:
    """Fold lowerCamel, UpperCamel and snake_case spellings of a kind to one key."""
    return kind.replace("_", "").lower()


_INFIX_BY_KIND_KEY: dict[str, str] = {_normalise_kind_name(k): i for i, k in KIND_BY_INFIX.items()}


def infix_of_kind(kind: str) -> str | None:
    """The infix of a kind name such as ``arvados#virtual_machine``, or None if unknown."""
    if not kind.startswith("arvados#"):
        return None
    return _INFIX_BY_KIND_KEY.get(_normalise_kind_name(kind))


#: CSPRNG bytes map to base36 characters without bias: bytes 0-251 (7 * 36 values) map to
#: ``_ALPHABET[b % 36]``; bytes 252-255 are dropped (rejection sampling).
_UNBIASED_LIMIT = 252
_TO_BASE36 = bytes(ord(_ALPHABET[b % 36]) for b in range(_UNBIASED_LIMIT)) + bytes(4)
_BIASED = bytes(range(_UNBIASED_LIMIT, 256))


def _random_base36(count: int) -> str:
    """``count`` independent, uniformly distributed base36 characters from a CSPRNG."""
    out = b""
    while len(out) < count:
        # 1/64 of the bytes are dropped: ask for a little more than needed.
        raw = secrets.token_bytes(count - len(out) + (count >> 4) + 8)
        out += raw.translate(_TO_BASE36, _BIASED)
    return out[:count].decode("ascii")


def new_uuid(cluster_id: str, infix: str) -> str:
    """A fresh uuid with 15 characters from a CSPRNG."""
    return f"{cluster_id}-{infix}-{_random_base36(15)}"


def new_uuids(cluster_id: str, infix: str, count: int) -> list[str]:
    """``count`` fresh uuids (as :func:`new_uuid`, from one CSPRNG read)."""
    tails = _random_base36(15 * count)
    prefix = f"{cluster_id}-{infix}-"
    return [prefix + tails[i : i + 15] for i in range(0, 15 * count, 15)]


def is_uuid(value: object) -> bool:
    """True if ``value`` is a well-formed uuid (of any infix)."""
    return isinstance(value, str) and UUID_RE.match(value) is not None


def infix_of(value: str | None) -> str | None:
    """The infix of a well-formed uuid, else None."""
    if value is None or not is_uuid(value):
        return None
    return value[6:11]


def kind_of(value: str | None) -> str | None:
    """The kind a reference names: a known infix, a portable data hash (collection), else None."""
    if value is None:
        return None
    infix = infix_of(value)
    if infix is not None:
        return KIND_BY_INFIX.get(infix)
    if PDH_RE.match(value):
        return "arvados#collection"
    return None


def normalise_reference(value: str | None) -> str | None:
    """Normalise a head/tail reference: portable data hashes lose their hints (``md5+size``)."""
    if value is None:
        return None
    match = PDH_RE.match(value)
    if match:
        return f"{match.group(1)}+{match.group(2)}"
    return value


def is_foreign(value: str | None) -> bool:
    """True for a well-formed uuid whose infix names a kind Linkbase does not store."""
    infix = infix_of(value)
    return infix is not None and infix in FOREIGN_KINDS


class WellKnown:
    """The uuids of the objects every database is seeded with, for one cluster id."""

    def __init__(self, cluster_id: str) -> None:
        self.cluster_id = cluster_id
        self.system_user = f"{cluster_id}-tpzed-000000000000000"
        self.system_group = f"{cluster_id}-j7d0g-000000000000000"
        self.all_users = f"{cluster_id}-j7d0g-fffffffffffffff"
        self.anonymous_group = f"{cluster_id}-j7d0g-anonymouspublic"
        self.anonymous_user = f"{cluster_id}-tpzed-anonymouspublic"
        self.public_favorites = f"{cluster_id}-j7d0g-publicfavorites"
        self.system_root_token = f"{cluster_id}-gj3su-000000000000000"

    @property
    def protected(self) -> frozenset[str]:
        """Objects that can never be deleted."""
        return frozenset(
            {
                self.system_user,
                self.system_group,
                self.all_users,
                self.anonymous_group,
                self.anonymous_user,
                self.public_favorites,
            }
        )
