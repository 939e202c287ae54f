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
    #: One JSON log line per request on stderr.
    log_requests: bool = False
    #: Largest number of links in one batch import request or Laserfiche PUT.
    max_batch_links: int = 10_000
