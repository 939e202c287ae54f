"""Reading request bodies under a size limit, shared by every face.

The limit is enforced while the body streams in: a client declaring or sending more than the
limit is refused after at most the limit plus one network chunk has been read, instead of the
whole body being buffered in memory first and measured afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from linkbase.domain.errors import LinkbaseError


async def read_body(request: Request, limit: int, too_large: Callable[[], LinkbaseError]) -> bytes:
    """The request body; raises ``too_large()`` as soon as it is known to exceed ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)
