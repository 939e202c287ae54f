"""The catalogue of served resources and their attributes.

Every face, the filter compiler and the renderers read attribute types from here, so a new
attribute is declared once. Types follow the spec's filter table: S string, T timestamp,
B boolean, J JSON object; ``OTHER`` attributes (arrays, prefs) can be selected but not filtered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from linkbase.domain import uuids


class AttrType(Enum):
    """How an attribute is compared in filters and ordered."""

    STRING = "S"
    TIME = "T"
    BOOL = "B"
    JSON = "J"
    #: An integer (a log entry's ``id``); filters also take it as a string of digits.
    INT = "I"
    OTHER = "O"


@dataclass(frozen=True)
class Attribute:
    """One attribute of a resource as the Arvados face shows it."""

    name: str
    type: AttrType
    #: Settable by clients on create/update.
    writable: bool = True
    #: Derived from other attributes; never stored (``full_name``, ``head_kind``).
    computed: bool = False
    #: Part of the ``any`` full-text-ish search (spec §3.4).
    searchable: bool = False
    #: A text column: no length limit (other strings have ``limits.MAX_STRING_LENGTH``).
    long: bool = False


def _common() -> list[Attribute]:
    return [
        Attribute("uuid", AttrType.STRING, writable=False),
        Attribute("owner_uuid", AttrType.STRING),
        Attribute("created_at", AttrType.TIME, writable=False),
        Attribute("modified_at", AttrType.TIME, writable=False),
        Attribute("modified_by_user_uuid", AttrType.STRING, writable=False),
    ]


@dataclass(frozen=True)
class Resource:
    """A resource of the Arvados face (and the table behind it)."""

    name: str
    kind: str
    wrapper: str
    class_name: str
    infix: str
    attributes: tuple[Attribute, ...]
    default_order: tuple[tuple[str, str], ...] = (("modified_at", "desc"), ("uuid", "desc"))
    by_name: dict[str, Attribute] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name: a for a in self.attributes})

    @property
    def list_kind(self) -> str:
        """The ``kind`` of a list envelope, e.g. ``arvados#linkList``."""
        return self.kind + "List"

    @property
    def output_names(self) -> tuple[str, ...]:
        """Attribute names in an object's JSON (``kind`` and ``etag`` are added by the renderer)."""
        return tuple(a.name for a in self.attributes)

    def attribute(self, name: str) -> Attribute | None:
        """The attribute called ``name``, or None."""
        return self.by_name.get(name)

    @property
    def filterable(self) -> dict[str, Attribute]:
        """Attributes usable in filters (stored S/T/B/J ones)."""
        return {
            a.name: a
            for a in self.attributes
            if a.type is not AttrType.OTHER and not a.computed
        }

    @property
    def searchable(self) -> tuple[str, ...]:
        """Attributes the ``any`` filter searches."""
        return tuple(a.name for a in self.attributes if a.searchable)


S, T, B, J = AttrType.STRING, AttrType.TIME, AttrType.BOOL, AttrType.JSON

LINKS = Resource(
    name="links",
    kind="arvados#link",
    wrapper="link",
    class_name="Link",
    infix=uuids.LINK,
    attributes=(
        *_common(),
        Attribute("link_class", S, searchable=True),
        Attribute("name", S, searchable=True),
        Attribute("tail_uuid", S),
        Attribute("head_uuid", S),
        Attribute("properties", J, searchable=True),
        Attribute("head_kind", S, computed=True),
        Attribute("tail_kind", S, computed=True),
    ),
)

USERS = Resource(
    name="users",
    kind="arvados#user",
    wrapper="user",
    class_name="User",
    infix=uuids.USER,
    attributes=(
        *_common(),
        Attribute("email", S, searchable=True),
        Attribute("username", S, searchable=True),
        Attribute("first_name", S, searchable=True),
        Attribute("last_name", S, searchable=True),
        Attribute("full_name", S, writable=False, computed=True),
        Attribute("is_admin", B),
        Attribute("is_active", B),
        Attribute("prefs", AttrType.OTHER),
    ),
)

#: What a non-admin sees of another user (spec §7), whatever ``select`` asks: no ``prefs``
#: (where clients keep profiles) and no timestamps or modifier.
USER_PUBLIC_ATTRIBUTES = frozenset({
    "uuid", "kind", "etag", "owner_uuid", "email", "first_name", "last_name", "full_name",
    "username", "is_active", "is_admin",
})

GROUPS = Resource(
    name="groups",
    kind="arvados#group",
    wrapper="group",
    class_name="Group",
    infix=uuids.GROUP,
    attributes=(
        *_common(),
        Attribute("name", S, searchable=True),
        Attribute("description", S, searchable=True, long=True),
        Attribute("group_class", S, searchable=True),
        Attribute("properties", J, searchable=True),
    ),
)

COLLECTIONS = Resource(
    name="collections",
    kind="arvados#collection",
    wrapper="collection",
    class_name="Collection",
    infix=uuids.COLLECTION,
    attributes=(
        *_common(),
        Attribute("name", S, searchable=True),
        Attribute("description", S, searchable=True, long=True),
        Attribute("properties", J, searchable=True),
        Attribute("manifest_text", S, long=True),
        Attribute("portable_data_hash", S),
    ),
)

API_CLIENT_AUTHORIZATIONS = Resource(
    name="api_client_authorizations",
    kind="arvados#apiClientAuthorization",
    wrapper="api_client_authorization",
    class_name="ApiClientAuthorization",
    infix=uuids.TOKEN,
    attributes=(
        *_common(),
        Attribute("api_token", S, writable=False),
        Attribute("expires_at", T),
        Attribute("scopes", AttrType.OTHER),
    ),
    default_order=(("created_at", "desc"), ("uuid", "desc")),
)

#: ``GET /arvados/v1/computed_permissions``: rows ``MP(user, target)`` (list only, no stored
#: objects, no uuid). Not in ``RESOURCES``: it has no infix and none of the object methods.
COMPUTED_PERMISSIONS = Resource(
    name="computed_permissions",
    kind="arvados#computedPermission",
    wrapper="computed_permission",
    class_name="ComputedPermission",
    infix="",
    attributes=(
        Attribute("user_uuid", S, writable=False),
        Attribute("target_uuid", S, writable=False),
        Attribute("perm_level", S, writable=False),
    ),
    default_order=(("user_uuid", "asc"), ("target_uuid", "asc")),
)

#: ``/arvados/v1/logs``: the audit log (``storage.audit``), read-only but for admins. Not in
#: ``RESOURCES``: log entries are not objects of the graph (no links to them, no owner rules);
#: ``services.logs`` decides who reads which.
LOGS = Resource(
    name="logs",
    kind="arvados#log",
    wrapper="log",
    class_name="Log",
    infix=uuids.LOG,
    attributes=(
        *_common(),
        Attribute("id", AttrType.INT, writable=False),
        Attribute("object_uuid", S, writable=False),
        Attribute("object_owner_uuid", S, writable=False),
        Attribute("object_kind", S, writable=False, computed=True),
        Attribute("event_type", S, writable=False, searchable=True),
        Attribute("event_at", T, writable=False),
        Attribute("summary", S, writable=False, computed=True),
        Attribute("request_id", S, writable=False),
        Attribute("properties", J, writable=False),
    ),
    default_order=(("id", "desc"),),
)

RESOURCES: dict[str, Resource] = {
    r.name: r for r in (LINKS, USERS, GROUPS, COLLECTIONS, API_CLIENT_AUTHORIZATIONS)
}
RESOURCE_BY_INFIX: dict[str, Resource] = {r.infix: r for r in RESOURCES.values()}
