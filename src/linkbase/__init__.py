"""Linkbase: a links and permissions metadata server speaking the Arvados and Laserfiche APIs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from linkbase.client import Client

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    """Import the client on first use: the server must not pay for httpx at import time."""
    if name == "Client":
        from linkbase.client import Client

        return Client
    raise AttributeError(f"module 'linkbase' has no attribute {name!r}")
