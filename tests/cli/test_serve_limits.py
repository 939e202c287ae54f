"""``linkbase serve`` bounds what a slow or greedy client can hold: a connection trickling its
headers is closed within the header timeout, oversized headers are refused, and ordinary
keep-alive clients are unaffected; in one process and with ``--workers`` (issue 10)."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.server import ServerHandle, running_server

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0


@pytest.fixture(scope="module", params=[(b, w) for b in BACKENDS for w in ("1", "2")],
                ids=lambda p: f"{p[0]}-{p[1]}-process")
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    """One server per backend and process count (one process, and ``--workers 2``)."""
    backend, workers = request.param
    url = fresh_database_url(backend, tmp_path_factory.mktemp("limits"))
    args = ("--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT),
            "--workers", workers)
    with running_server(url, args=args) as handle:
        yield handle


def _connect(server: ServerHandle) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _closed_after(sock: socket.socket, trickle: bytes, limit: float) -> float:
    """Send ``trickle`` one byte every 0.2 s until the server closes; seconds it took."""
    start = time.monotonic()
    sock.settimeout(0.2)
    for byte in trickle:
        try:
            sock.sendall(bytes([byte]))
            if sock.recv(1024) == b"":
                break
        except TimeoutError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            break
        if time.monotonic() - start > limit:
            break
    return time.monotonic() - start


def test_a_connection_trickling_its_headers_is_closed(server: ServerHandle) -> None:
    trickle = b"GET /_health/ping HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    with _connect(server) as sock:
        took = _closed_after(sock, trickle, limit=HEADER_TIMEOUT + 10)
    assert took < HEADER_TIMEOUT + 3, took


def test_a_connection_trickling_its_body_is_closed(server: ServerHandle) -> None:
    headers = (b"POST /arvados/v1/links HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
               b"\r\nContent-Length: 1000\r\n\r\n")
    with _connect(server) as sock:
        sock.sendall(headers)
        took = _closed_after(sock, b"{" + b" " * 999, limit=BODY_TIMEOUT + 10)
    assert took < BODY_TIMEOUT + 3, took


def test_a_silent_connection_is_closed(server: ServerHandle) -> None:
    with _connect(server) as sock:
        start = time.monotonic()
        assert sock.recv(1024) == b""
        assert time.monotonic() - start < HEADER_TIMEOUT + 3


def test_keep_alive_requests_within_the_limits_work(server: ServerHandle) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for _ in range(3):
        conn.request("GET", "/_health/ping")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b'{"health":"OK"}')
        # Idle between requests (under the keep-alive timeout, though longer than half the
        # header timeout twice over): the header deadline starts with each request.
        time.sleep(HEADER_TIMEOUT * 0.6)
    conn.close()


def test_oversized_headers_are_refused_with_an_answer(server: ServerHandle) -> None:
    """The 431 reaches the client although it was still sending (no reset)."""
    with _connect(server) as sock:
        sock.sendall(b"GET /_health/ping HTTP/1.1\r\nHost: x\r\nX-Big: "
                     + b"a" * (1024 * 1024) + b"\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]


@pytest.mark.parametrize("path", ["/linkbase/v1/repositories", "/arvados/v1/links",
                                  "/v2/Repositories/r-default/Entries/1/Links"])
def test_a_request_after_an_early_answer_to_a_large_body_is_answered(
        server: ServerHandle, path: str) -> None:
    """A request refused before its body is read (a wrong token, a method the route does not
    take) is answered while the body is still arriving; the rest of that body is not the next
    request's headers, so the next request on the connection gets its own answer (it got a
    431 or a closed connection when the body was larger than the header limit)."""
    body = b'{"name": "' + b"x" * 900_000 + b'"}'
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        for _ in range(3):
            conn.request("POST", path, body=body, headers={
                "Authorization": "Bearer garbage", "Content-Type": "application/json"})
            resp = conn.getresponse()
            assert resp.status in (401, 405), (resp.status, resp.read()[:200])
            assert resp.getheader("connection", "").lower() != "close"
            resp.read()
        conn.request("GET", "/_health/ping")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b'{"health":"OK"}')
    finally:
        conn.close()


def test_an_unparseable_request_is_answered_while_its_sender_goes_on_sending(
        server: ServerHandle) -> None:
    """The 400 for a request the parser refuses reaches a client still sending its body (the
    connection is closed the lingering way, not reset under it)."""
    with _connect(server) as sock:
        sock.sendall(b"POST /arvados/v1/links HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 4194304\r\nBad\x01Header: y\r\n\r\n")
        for _ in range(64):
            sock.sendall(b"x" * 65536)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    assert b"Invalid HTTP request received." in answer
