"""Named points in the write paths where tests can stop a transaction.

Concurrency bugs live between a read and the write that depends on it. To prove a write path is
safe, a test must hold one transaction exactly there while another runs (see
``tests/services/test_interleavings.py``). Production code marks those places with
``checkpoints.reach("name")``; with no hook installed (always, outside tests) that is one dict
lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

_hooks: dict[str, Callable[[str], None]] = {}


def reach(name: str) -> None:
    """Run the hook installed for ``name``, if any."""
    hook = _hooks.get(name)
    if hook is not None:
        hook(name)


@contextmanager
def installed(name: str, hook: Callable[[str], None]) -> Iterator[None]:
    """Install ``hook`` at ``name`` for the duration of the block (tests only)."""
    previous = _hooks.get(name)
    _hooks[name] = hook
    try:
        yield
    finally:
        if previous is None:
            _hooks.pop(name, None)
        else:
            _hooks[name] = previous
