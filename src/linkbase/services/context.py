"""Who is calling and with what: the request-independent inputs every service needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from linkbase.domain.uuids import WellKnown
from linkbase.settings import Settings
from linkbase.storage.database import Database

if TYPE_CHECKING:
    from linkbase.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Caller:
    """The authenticated user and the token it presented."""

    uuid: str
    is_admin: bool
    is_active: bool
    username: str | None = None
    token_uuid: str | None = None
    token_secret: str | None = None
    scopes: tuple[str, ...] = ("all",)
    user: dict[str, Any] = field(default_factory=dict, compare=False)


def system_caller(well_known: WellKnown) -> Caller:
    """The server acting on its own authority (the system user, admin)."""
    return Caller(uuid=well_known.system_user, is_admin=True, is_active=True, username="root")


@dataclass
class Services:
    """The database and configuration shared by every service call."""

    db: Database
    settings: Settings

    @cached_property
    def uow(self) -> UnitOfWork:
        """The unit of work every use case runs its transactions through."""
        from linkbase.services.unit_of_work import UnitOfWork

        return UnitOfWork(self.db, self.well_known)

    @property
    def well_known(self) -> WellKnown:
        """The seeded objects' uuids for this cluster."""
        return WellKnown(self.settings.cluster_id)

    @property
    def cluster_id(self) -> str:
        """The uuid prefix of objects created here."""
        return self.settings.cluster_id
