"""Request bodies over the limit are refused while they stream in, on every face.

The app is driven at the ASGI level so the test sees how much of the body the server pulled
before answering: a streamed (chunked) body with no Content-Length is refused once the limit is
passed, not buffered whole; the rest of it is then read and discarded (up to
``body.DRAIN_BYTES``) so that a client still sending gets the answer rather than a reset
connection (``test_a_refused_body_is_answered_on_a_real_connection``).
"""

from __future__ import annotations

import asyncio
import http.client
from typing import Any

import orjson
import pytest

from linkbase.api.app import create_app
from linkbase.api.body import DRAIN_BYTES
from linkbase.settings import Settings
from tests.support.uvicorn_thread import serving

ROOT = "body-root-token"
LIMIT = 64 * 1024
CHUNK = 16 * 1024
CHUNKS = 40  # 640 KiB offered, ten times the limit


async def _call(app: Any, path: str, chunks: int, declared: int | None, method: str = "POST"
                ) -> tuple[int, bytes, int]:
    """Send ``chunks`` chunks to ``path``; the status, the body and the chunks the app read."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= chunks:
            return {"type": "http.disconnect"}
        pulled += 1
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"authorization", f"Bearer {ROOT}".encode()),
               (b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": headers,
             "server": ("testserver", 80), "client": ("127.0.0.1", 1234)}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), body, pulled


@pytest.fixture
def app(database_url: str) -> Any:
    application = create_app(Settings(database_url=database_url, system_root_token=ROOT,
                                      max_request_bytes=LIMIT, max_import_bytes=LIMIT))
    yield application
    application.state.services.db.dispose()


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("POST", "/arvados/v1/links", 422, "Request body too large"),
        ("POST", "/linkbase/v1/links/batch", 422, "Request body too large"),
        ("PUT", "/v2/Repositories/r1/Entries/1/Links", 413, "The request body is larger than"),
    ],
)
def test_streamed_body_over_the_limit_is_refused_and_drained(
        app: Any, method: str, path: str, status: int, message: str) -> None:
    code, body, pulled = asyncio.run(_call(app, path, CHUNKS, declared=None, method=method))
    assert code == status
    assert message in body.decode()
    assert pulled == CHUNKS  # read to the end (and discarded), so the sender gets the answer


@pytest.mark.parametrize("path", ["/arvados/v1/links", "/linkbase/v1/links/batch"])
def test_declared_length_over_the_limit_is_refused(app: Any, path: str) -> None:
    code, body, pulled = asyncio.run(_call(app, path, CHUNKS, declared=CHUNK * CHUNKS))
    assert code == 422
    assert orjson.loads(body)["errors"][0].startswith("Request body too large")
    assert pulled == CHUNKS  # drained
    # A body declared larger than the drain allowance is not waited for at all.
    code, _, pulled = asyncio.run(_call(app, path, CHUNKS, declared=DRAIN_BYTES + 1))
    assert (code, pulled) == (422, 0)


def test_a_body_within_the_limit_is_read_whole(app: Any) -> None:
    code, body, pulled = asyncio.run(_call(app, "/linkbase/v1/links/batch", 2, declared=None))
    assert pulled == 2
    assert code == 422  # read whole, then refused for what it is: spaces are not JSON
    assert "Malformed JSON" in orjson.loads(body)["errors"][0]


def test_a_refused_body_is_answered_on_a_real_connection(app: Any) -> None:
    """A client sending a body over the limit reads the answer (no broken pipe or reset), and
    the connection stays usable."""
    with serving(app) as (host, port):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for _ in range(2):
            conn.request("POST", "/arvados/v1/links", body=b" " * (LIMIT * 8),
                         headers={"Authorization": f"Bearer {ROOT}",
                                  "Content-Type": "application/json"})
            resp = conn.getresponse()
            assert resp.status == 422
            assert orjson.loads(resp.read())["errors"][0].startswith("Request body too large")
        conn.close()
