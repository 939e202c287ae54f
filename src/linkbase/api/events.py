"""The event bus of one server process: wakes every open event stream (Arvados websocket,
native Server-Sent Events) when new audit log entries have been committed, by any process.

One daemon thread per process, started with the first subscriber, waits on the database
(``storage.notify``: ``LISTEN`` on PostgreSQL, polling on SQLite), reads the newest log id and,
when it moved, sets every subscriber's :class:`asyncio.Event`. Each stream then reads the entries
after its own cursor through the change feed (``services.logs.changes``), as its own caller,
with its own filters: what a subscriber receives is decided at delivery time, and a stream that
resumes from an id misses nothing and repeats nothing, whichever process wrote the entries
(ids commit in order, ``storage.audit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from linkbase.api.worker_threads import run_blocking
from linkbase.domain.query import Filter
from linkbase.services import logs
from linkbase.services.context import Caller, Services
from linkbase.storage.notify import LogWaiter

log = logging.getLogger(__name__)


class EventBus:
    """Wakes subscribers of one process when the newest log id changes."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.latest = 0
        self._subscribers: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        #: Set while anyone is subscribed: with nobody to wake, the thread does not poll.
        self._wanted = threading.Event()

    def subscribe(self) -> asyncio.Event:
        """A new subscriber's wake-up event (set at once, so it looks for entries first)."""
        wake = asyncio.Event()
        wake.set()
        with self._lock:
            self._subscribers[wake] = asyncio.get_running_loop()
            self._wanted.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="linkbase-event-bus",
                                                daemon=True)
                self._thread.start()
        return wake

    def unsubscribe(self, wake: asyncio.Event) -> None:
        """Forget a subscriber."""
        with self._lock:
            self._subscribers.pop(wake, None)
            if not self._subscribers:
                self._wanted.clear()

    def stop(self) -> None:
        """Stop the thread (app shutdown)."""
        self._stopping.set()
        self._wanted.set()

    def _run(self) -> None:
        waiter = LogWaiter(self.services.db.engine)
        try:
            while not self._stopping.is_set():
                if not self._wanted.is_set():
                    waiter.close()  # no listening connection held while idle
                    self._wanted.wait()
                    continue
                waiter.wait()
                try:
                    newest = logs.latest_id(self.services)
                except Exception:  # database briefly unavailable: try again next round
                    log.warning("event bus: cannot read the log", exc_info=True)
                    continue
                if newest != self.latest:
                    self.latest = newest
                    self._wake_all()
        finally:
            waiter.close()

    def _wake_all(self) -> None:
        with self._lock:
            targets = list(self._subscribers.items())
        for wake, loop in targets:
            with contextlib.suppress(RuntimeError):  # loop closed: the subscriber is gone
                loop.call_soon_threadsafe(wake.set)


def bus_of(services: Services, state: Any) -> EventBus:
    """The process's bus, kept on the app's state."""
    bus = getattr(state, "event_bus", None)
    if bus is None:
        bus = state.event_bus = EventBus(services)
    return bus


async def entries_after(services: Services, caller: Caller, cursor: int,
                        filter_sets: Callable[[], list[list[Filter]]],
                        wake: asyncio.Event) -> AsyncIterator[dict[str, Any]]:
    """Every entry after ``cursor`` the caller may read and the filters match, as they are
    committed, forever (the caller stops iterating to end). ``filter_sets`` is asked again at
    each round, so subscriptions may change while it runs."""
    while True:
        await wake.wait()
        wake.clear()
        while True:
            page = await run_blocking(logs.changes, services, caller, cursor,
                                           filter_sets())
            for item in page.items:
                yield item
            cursor = page.cursor
            if len(page.items) < logs.MAX_PAGE:
                break
