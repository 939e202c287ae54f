"""Per-connection limits uvicorn lacks: how long a client may take to send its request headers
and its body, and how large the headers may be.

Uvicorn closes idle keep-alive connections but lets a connection that trickles its headers one
byte at a time stay open for ever (issue 10: one stayed 120 s; 1,700 were held at once). This
protocol is uvicorn's httptools protocol with three more rules:

* the request line and headers must arrive within ``header_timeout_seconds`` of the connection
  opening (or of the first byte of a later request on a kept-alive connection);
* the body must arrive within ``body_timeout_seconds`` of the headers, even when the answer
  went out before it (a request refused on its token or route);
* the headers must fit in ``max_header_bytes``.

Past a deadline the connection is closed (nothing useful can be said to a client that is not
sending). Oversized headers get a 431, and the connection is closed the lingering way: the
server stops sending (FIN) but reads and discards what the client is still sending for a
moment, since closing a socket with unread data makes the kernel reset the connection and the
client would lose the answer. ``linkbase serve`` passes this class to uvicorn
by its import path, so ``--workers N`` processes load it too; the limits come from
:class:`linkbase.settings.Settings` (``LINKBASE_HEADER_TIMEOUT_SECONDS`` ...), which ``serve``
sets from its flags. The number of connections is bounded by uvicorn's ``limit_concurrency``.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from linkbase.settings import Settings

#: How long a refused connection is drained before it is closed.
LINGER_SECONDS = 2.0
#: What ``uvicorn.Config(http=...)`` is given.
IMPORT_PATH = "linkbase.api.connection_limits:LimitedHttpToolsProtocol"


@cache
def _limits() -> tuple[float, float, int]:
    settings = Settings()
    return (settings.header_timeout_seconds, settings.body_timeout_seconds,
            settings.max_header_bytes)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines and a header size cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.body_timeout, self.max_header_bytes = _limits()
        self._deadline: asyncio.TimerHandle | None = None
        self._in_headers = True
        self._header_bytes = 0
        self._discarding = False

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.logger.info("Closing a connection too slow to send its request")
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        if not self._in_headers:
            super().data_received(data)
            return
        # A chunk may hold the end of the headers and a body: parse it first, and count it
        # against the headers only if they are still incomplete after it.
        self._header_bytes += len(data)
        super().data_received(data)
        if (self._in_headers and self._header_bytes > self.max_header_bytes
                and not self.transport.is_closing()):
            self._refuse_headers()

    def _refuse_headers(self) -> None:
        """431, then a lingering close (see the module docstring)."""
        self._disarm()
        self._discarding = True
        body = b'{"errors": ["Request headers too large"]}'
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's 400 for a request it cannot parse (an oversized request line, a malformed
        header), closed the lingering way like the 431: uvicorn closes at once, and a client
        still sending its body then sees a broken pipe instead of the answer (found by the
        fuzzer: a request line of a few thousand filters with a large body)."""
        self._disarm()
        self._discarding = True
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: text/plain; charset=utf-8\r\n",
                        b"content-length: " + str(len(msg)).encode("ascii") + b"\r\n",
                        b"connection: close\r\n\r\n", msg.encode("ascii")])
        self.transport.write(b"".join(content))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def eof_received(self) -> None:
        if self._discarding:
            self.transport.close()  # the client has read the answer and closed its side
        super().eof_received()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0
        if self._deadline is None:  # a later request on a kept-alive connection
            self._arm(self.header_timeout)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._arm(self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # The request has arrived whole: what follows is the next request's headers. This is
        # decided here, not when the response completes: an answer may go out before the
        # body is in (a refused token, an unknown route), and the rest of that body must not
        # be counted against the next request's header limit or deadline.
        self._disarm()
        self._in_headers = True
        self._header_bytes = 0
        super().on_message_complete()

    # The response's completion changes none of the limits: between requests uvicorn's
    # keep-alive timeout applies, the header deadline starts with the next request's first
    # byte, and a body still arriving after an early answer keeps its deadline.

    def shutdown(self) -> None:
        """The server is stopping: a connection between requests is dropped at once.

        uvicorn closes it, which on a TLS connection means sending ``close_notify`` and
        waiting for the client's (up to 30 s) before the connection counts as gone, and the
        server waits for every connection to go: one idle keep-alive client held a stopping
        ``linkbase serve --tls-cert`` for the full 30 s. An idle connection has nothing left to
        send, so aborting it loses nothing; one with a request in flight still finishes it.
        """
        if self.cycle is None or self.cycle.response_complete:
            self._disarm()
            self.transport.abort()
        else:
            super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
