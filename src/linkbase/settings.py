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
    #: Connection limits of ``linkbase serve`` (``api/connection_limits.py``): a client must send
    #: its request line and headers within ``header_timeout_seconds`` and its body within
    #: ``body_timeout_seconds``, in headers of at most ``max_header_bytes``; an idle kept-alive
    #: connection is closed after ``keep_alive_seconds``; beyond ``max_connections`` open
    #: connections, requests are answered 503.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=60.0, gt=0)
    max_header_bytes: int = Field(default=64 * 1024, gt=0)
    keep_alive_seconds: int = Field(default=5, gt=0)
    max_connections: int = Field(default=1000, gt=0)
    #: Failed sign-ins (the Laserfiche Token endpoint) allowed per username, and per client
    #: address, within ``login_window_seconds``; beyond them the endpoint answers 429 for
    #: ``login_lockout_seconds``. Counted in the database, so across processes and servers.
    login_max_failures: int = 5
    login_max_failures_per_address: int = 50
    login_window_seconds: int = 900
    login_lockout_seconds: int = 60
