"""Process-wide interpreter settings for bulk work, changed while any thread needs them.

* **The cyclic garbage collector, paused** (:func:`gc_paused`). A bulk import batch allocates
  (server) or holds (client) hundreds of thousands of containers: parsed JSON objects, rows,
  lines. The collector's generational thresholds make it rescan everything alive again and again
  as they pile up, which costs as much as the parsing itself (the client's read loop measured
  8 µs a line with the collector, 1.5 µs without). None of these objects form reference cycles,
  so reference counting frees them all; pausing the collector loses nothing.
* **A short GIL switch interval** (:func:`quick_gil_handoffs`). SQLite's driver releases the
  GIL while a statement runs, so the server writes one import batch while it validates the next
  in another thread. But when a statement ends, the writer must get the GIL back to start the
  next one, and the validating thread keeps it until the interpreter's switch interval (5 ms)
  runs out: with 1,024-row statements of about 25 ms, the writer lost up to a fifth of its time
  waiting. At 0.5 ms, a million links imported at 28,700-29,600 links/s against 24,500 in the
  same session (``bench/import_links.py``).

Both are process-wide, so they are reference-counted: safe to nest and to use from many threads
at once; the setting is restored when the last user leaves.

* **The server's start-up heap, frozen** (:func:`freeze_startup_heap`), once per serving
  process: see there.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

#: The switch interval while a bulk writer runs (seconds; Python's default is 0.005).
BULK_SWITCH_INTERVAL = 0.0005


class _WhileNeeded:
    """A process-wide setting applied by the first user and restored after the last one."""

    def __init__(self, apply: Callable[[], Any], restore: Callable[[Any], None]) -> None:
        self._apply = apply
        self._restore = restore
        self._lock = threading.Lock()
        self._users = 0
        self._saved: Any = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            self._users += 1
            if self._users == 1:
                self._saved = self._apply()
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._restore(self._saved)


def _pause_gc() -> bool:
    was_enabled = gc.isenabled()
    gc.disable()
    return was_enabled


def _resume_gc(was_enabled: bool) -> None:
    if was_enabled:
        gc.enable()


def _shorten_switch_interval() -> float:
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, BULK_SWITCH_INTERVAL))
    return before


_gc = _WhileNeeded(_pause_gc, _resume_gc)
_switch = _WhileNeeded(_shorten_switch_interval, sys.setswitchinterval)


def gc_paused() -> AbstractContextManager[None]:
    """Disable the cyclic collector for the duration (re-enabled, if it was enabled, when the
    last user leaves)."""
    return _gc.held()


def quick_gil_handoffs() -> AbstractContextManager[None]:
    """Use :data:`BULK_SWITCH_INTERVAL` for the duration (the previous interval comes back when
    the last user leaves)."""
    return _switch.held()


def freeze_startup_heap() -> None:
    """Move every object alive now out of the collector's reach, for good (``gc.freeze``).

    Called by ``linkbase serve`` once the app is built, before the first request. What start-up
    made (modules, the framework's routes and models, SQLAlchemy's tables and compiled
    statements) lives as long as the process, yet every full collection scanned all of it
    again: a pause of tens of milliseconds now and then, in whichever request was running. With
    32 connections on SQLite, a link get's p99 went from 96-106 ms to 46-47 ms with the heap
    frozen (p50 unchanged). Objects made later are collected as before.
    """
    gc.collect()
    gc.freeze()
