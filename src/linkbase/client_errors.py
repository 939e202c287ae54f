"""The one exception family the Linkbase client raises.

Callers (the CLI above all) need to tell three situations apart without parsing text: the server
answered and refused (``LinkbaseAPIError``, with the HTTP status and the server's own messages),
the server could not be reached at all (``LinkbaseConnectionError``), or the client was not told
where the server is (``LinkbaseConfigError``). All derive from ``LinkbaseError`` so a script can
catch everything the client raises with one ``except``.
"""

from __future__ import annotations

from typing import Any


class LinkbaseError(Exception):
    """Base of every error raised by :mod:`linkbase.client`."""


class LinkbaseConfigError(LinkbaseError):
    """No usable server URL (or another setting) was given; nothing was sent."""


class LinkbaseConnectionError(LinkbaseError):
    """The server could not be reached: refused, DNS failure, TLS failure, timeout.

    Kept apart from :class:`LinkbaseAPIError` because nothing was decided by the server, so the
    request may be retried as is.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot reach {url}: {reason}")


class LinkbaseAPIError(LinkbaseError):
    """The server answered with an error status.

    ``messages`` holds the server's own words: the ``errors`` list of an Arvados error body, or
    the ``title`` (and ``detail`` when it adds something) of a Laserfiche ProblemDetails body.
    ``status`` is the HTTP status; ``body`` the decoded JSON body when there was one.
    """

    def __init__(
        self,
        status: int,
        messages: list[str],
        *,
        error_token: str | None = None,
        body: Any = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status = status
        self.messages = list(messages) or [f"HTTP {status}"]
        self.error_token = error_token
        self.body = body
        self.method = method
        self.url = url
        super().__init__(f"{status}: {'; '.join(self.messages)}")

    @property
    def message(self) -> str:
        """All server messages on one line, as the CLI prints them."""
        return "; ".join(" ".join(m.split()) for m in self.messages)


def messages_from_body(status: int, body: Any, text: str, reason: str) -> tuple[list[str], Any]:
    """Extract human messages from an error response in any dialect Linkbase speaks.

    Returns ``(messages, error_token)``. Handles the Arvados/Rails form ``{"errors": [...],
    "error_token": ...}``, Laserfiche ProblemDetails (``title``, ``detail``), FastAPI's
    ``{"detail": ...}`` and, as a last resort, a plain-text body or the HTTP reason phrase.
    """
    messages: list[str] = []
    token: Any = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            messages = [str(e) for e in errors]
            token = body.get("error_token")
        elif isinstance(errors, str):
            messages = [errors]
        title = body.get("title")
        if not messages and isinstance(title, str) and title:
            messages = [title]
            detail = body.get("detail")
            if isinstance(detail, str) and detail and detail != title:
                messages.append(detail)
        detail = body.get("detail")
        if not messages and isinstance(detail, str) and detail:
            messages = [detail]
        elif not messages and isinstance(detail, list):
            for item in detail:
                if isinstance(item, dict) and "msg" in item:
                    loc = ".".join(str(p) for p in item.get("loc", []))
                    messages.append(f"{loc}: {item['msg']}" if loc else str(item["msg"]))
                else:
                    messages.append(str(item))
        if not messages:
            for key in ("error", "message"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    messages = [value]
                    break
    if not messages:
        snippet = " ".join(text.split())[:200]
        messages = [snippet] if snippet else [f"HTTP {status} {reason}".strip()]
    return messages, token
