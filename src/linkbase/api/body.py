"""Reading request bodies under a size limit, shared by every face.

The limit is enforced while the body streams in: a client declaring or sending more than the
limit is refused after at most the limit plus one network chunk has been read, instead of the
whole body being buffered in memory first and measured afterwards. The rest of a refused body
is then read and thrown away (up to ``DRAIN_BYTES``), so that the client, still sending, gets the
answer: a server that answers and closes with unread data makes the kernel reset the connection,
and the client sees a broken pipe instead of the 413/422 (found by the fuzzer, issue 10).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request

from linkbase.domain.errors import LinkbaseError

#: How much of a refused body is read (and discarded) so that its sender gets the answer; a
#: larger one is not waited for (the connection is closed on it).
DRAIN_BYTES = 16 * 1024 * 1024


async def read_body(request: Request, limit: int, too_large: Callable[[], LinkbaseError]) -> bytes:
    """The request body; raises ``too_large()`` as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        if int(declared) <= DRAIN_BYTES:
            await _drain(request)
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            await _drain(request, size)
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(request: Request, already: int = 0) -> None:
    """Read and discard the rest of the body, up to ``DRAIN_BYTES`` in all."""
    size = already
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > DRAIN_BYTES:
                return
    except ClientDisconnect:
        return
