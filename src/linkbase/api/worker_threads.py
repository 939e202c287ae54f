"""The threads a request's blocking work (its database transaction) runs in, off the event loop.

Why not anyio's ``to_thread.run_sync``, which FastAPI's ``run_in_threadpool`` uses? Every request
makes one such call, and measured on this 2-core machine one call through anyio costs 0.22 ms of
CPU and 0.26 ms of wall time even with uvloop (a capacity limiter, a cancel scope, a task
lookup and a queue per call), which is more than a whole request to a bare FastAPI endpoint
(0.22 ms). A fixed set of threads waiting on one queue, each answering with the event loop's
``call_soon_threadsafe``, costs 0.08 ms of CPU and wall time for the same round trip
(``python -m bench.worker_threads`` runs both side by side: 0.17 against 0.08 ms of CPU).

The semantics kept from anyio's:

* the call runs in a copy of the caller's context, so context variables set by the request
  (its request id, its shared read snapshot) are seen by the call and its own changes stay in
  the thread;
* at most ``count`` calls run at once (the database connection pool is sized to match,
  ``storage.engine``); more wait in the queue in arrival order;
* a call, once started, runs to its end even if the awaiting request is cancelled (a client
  gone, a server stopping): a transaction is never cut in half by a cancellation, and its
  result is then dropped.

The threads are daemon threads shared by every app of the process: they hold nothing between
calls, and uvicorn's shutdown waits for the requests awaiting them before the process ends. A
forked child (a process manager that forks workers; uvicorn's own ``--workers`` spawns them)
starts with none and a fresh queue, since threads do not survive a fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context,
             Callable[..., Any], tuple[Any, ...], dict[str, Any]]

_jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
_lock = threading.Lock()
_threads: list[threading.Thread] = []


def _after_fork_in_child() -> None:
    global _jobs, _lock
    _jobs = queue.SimpleQueue()
    _lock = threading.Lock()
    _threads.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def ensure_threads(count: int) -> None:
    """Have at least ``count`` worker threads (an app sizes the pool to its settings)."""
    with _lock:
        while len(_threads) < count:
            thread = threading.Thread(target=_work, name=f"linkbase-request-{len(_threads)}",
                                      daemon=True)
            thread.start()
            _threads.append(thread)


def thread_count() -> int:
    """How many worker threads the process has."""
    return len(_threads)


async def run_blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn(*args, **kwargs)`` in a worker thread and return (or raise) what it does."""
    if not _threads:
        ensure_threads(1)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    _jobs.put((loop, future, contextvars.copy_context(), fn, args, kwargs))
    return await future


def _work() -> None:
    while True:
        loop, future, context, fn, args, kwargs = _jobs.get()
        try:
            result = context.run(fn, *args, **kwargs)
        except BaseException as error:
            _post(loop, future, None, error)
        else:
            _post(loop, future, result, None)
        del loop, future, context, fn, args, kwargs  # nothing held while idle


def _post(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any,
          error: BaseException | None) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody awaits the result
        loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return  # the request was cancelled while the call ran; its result is dropped
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
