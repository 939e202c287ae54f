"""Who is calling and with what: the request-independent inputs every service needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from linkbase.domain.uuids import WellKnown
from linkbase.settings import Settings
from linkbase.storage.database import Database


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


@dataclass
class Services:
    """The database and configuration shared by every service call."""

    db: Database
    settings: Settings

    @property
    def well_known(self) -> WellKnown:
        """The seeded objects' uuids for this cluster."""
        return WellKnown(self.settings.cluster_id)

    @property
    def cluster_id(self) -> str:
        """The uuid prefix of objects created here."""
        return self.settings.cluster_id
