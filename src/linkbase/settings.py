"""Server configuration from the environment (``LINKBASE_*``), overridable by CLI flags."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a server instance needs to know; read once at start-up."""

    model_config = SettingsConfigDict(env_prefix="LINKBASE_", extra="ignore")

    database_url: str = "sqlite:///linkbase.db"
    cluster_id: str = Field(default="zzzzz", pattern=r"^[0-9a-z]{5}$")
    system_root_token: str | None = None
    base_url: str | None = None
    #: Largest request body accepted, in bytes.
    max_request_bytes: int = 8 * 1024 * 1024
    #: Worker threads per process that run requests' database work, and pooled database
    #: connections (one each). More threads than cores mostly trade the GIL back and forth:
    #: bench/http.py measured half the throughput at 40 as at 8 on SQLite.
    request_threads: int = Field(default=8, ge=1, le=1024)
    #: One JSON log line per request on stderr.
    log_requests: bool = False
    #: Largest number of links in one Laserfiche PUT.
    max_batch_links: int = 10_000
    #: Largest number of links in one bulk import request (``POST /linkbase/v1/links/batch``).
    #: Each batch is one transaction; on SQLite a transaction rewrites every page of the uuid
    #: index it touched, so fewer, larger batches import several times faster.
    max_import_links: int = 50_000
    #: Largest bulk import request body, in bytes (about 250 bytes per link).
    max_import_bytes: int = 64 * 1024 * 1024
    #: Laserfiche audit reasons for deleting entries (JSON list of names; none by default).
    audit_reasons: list[str] = Field(default_factory=list)
