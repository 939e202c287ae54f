"""The ceiling of the stack: a bare FastAPI app with one JSON endpoint, served by the same
uvicorn setup as ``linkbase serve`` (one process, uvloop, httptools). ``bench/http.py`` runs it
beside Linkbase so every figure is a ratio to what the framework alone can do here.

Run (from the repository root): ``python -m uvicorn bench.bare_app:app --port 8001``.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/_health/ping")
async def ping() -> dict[str, str]:
    """The same answer as Linkbase's health check."""
    return {"health": "OK"}
