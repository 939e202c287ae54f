"""One error hierarchy for the whole server.

Services raise these; each API face maps them to its own status codes and bodies (Arvados
``{"errors": [...]}`` or Laserfiche ProblemDetails), so the domain never decides wire formats.
"""

from __future__ import annotations

import re

#: Lone surrogates cannot be encoded as UTF-8, so a message echoing one from the request (an
#: unknown attribute named ``"\ud800"``) could not be rendered; they are shown as U+FFFD.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class LinkbaseError(Exception):
    """Base class: ``messages`` are safe to show to the caller (they never name unreadable objects)."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        shown = [_LONE_SURROGATE.sub("\ufffd", m) for m in messages]
        self.messages: list[str] = shown or [self.default_message]

    default_message = "Error"

    def __str__(self) -> str:
        return "; ".join(self.messages)


class NotFoundError(LinkbaseError):
    """The object does not exist, or the caller may not read it (the two are indistinguishable)."""

    default_message = "Path not found"


class PermissionDeniedError(LinkbaseError):
    """The caller can see the object but may not do this to it."""

    default_message = "Forbidden"


class InvalidArgumentError(LinkbaseError):
    """The input is malformed or fails validation (Arvados 422, Laserfiche 400)."""

    default_message = "Invalid argument"


class ConflictError(InvalidArgumentError):
    """A uniqueness rule would be broken. Arvados reports it as 422, so it is an invalid argument."""

    default_message = "Conflict"


class UnauthenticatedError(LinkbaseError):
    """No valid credentials were presented."""

    default_message = "Not logged in"


class PayloadTooLargeError(InvalidArgumentError):
    """The request body or item count is over the server's limit."""

    default_message = "Request body too large"


class TooManyAttemptsError(LinkbaseError):
    """Too many failed sign-ins for a username or from an address: try again after
    ``retry_after`` seconds (Laserfiche 429 with ``Retry-After``; never used on the Arvados
    face, whose SDK retries a 429)."""

    default_message = "Too many failed sign-in attempts; try again later"

    def __init__(self, retry_after: int, *messages: str) -> None:
        super().__init__(*messages)
        self.retry_after = retry_after


class ConfigurationError(LinkbaseError):
    """The server cannot start as configured: an unsupported or unreachable database, a port in
    use. Its message is one line for an operator, naming what to change."""

    default_message = "Invalid configuration"
