"""Serve an app object with uvicorn in a thread of the test process, on a real socket.

For tests that need real connections (keep-alive, resets, slow clients) but also need to reach
into the app (monkeypatched faults, its database): a ``linkbase serve`` process cannot be
patched. Uvicorn runs exactly as ``linkbase serve`` configures it (``cli/serve.py``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from linkbase.cli.serve import uvicorn_options


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI, **config: Any) -> Iterator[tuple[str, int]]:
    """``(host, port)`` of ``app`` served until the block ends; ``config`` goes to uvicorn."""
    port = free_port()
    options = {**uvicorn_options(app.state.services.settings), "lifespan": "off", **config}
    settings = uvicorn.Config(app, host="127.0.0.1", port=port, **options)
    server = uvicorn.Server(settings)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
