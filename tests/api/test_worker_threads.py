"""The worker threads requests run their blocking work in (``linkbase.api.worker_threads``)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from linkbase.api import worker_threads
from linkbase.api.worker_threads import run_blocking

REQUEST = contextvars.ContextVar[str]("REQUEST", default="none")


def test_a_call_runs_in_a_worker_thread_and_returns_its_value() -> None:
    async def main() -> tuple[str, int]:
        return await run_blocking(lambda a, b=0: (threading.current_thread().name, a + b), 2, b=3)

    name, value = asyncio.run(main())
    assert value == 5
    assert name.startswith("linkbase-request-")
    assert name != threading.current_thread().name


def test_an_exception_reaches_the_awaiting_task_as_raised() -> None:
    def fail() -> None:
        raise LookupError("no such row")

    async def main() -> None:
        await run_blocking(fail)

    with pytest.raises(LookupError, match="no such row"):
        asyncio.run(main())


def test_the_call_sees_the_callers_context_and_keeps_its_own_changes() -> None:
    def read_and_set() -> str:
        seen = REQUEST.get()
        REQUEST.set("changed in the thread")
        return seen

    async def main() -> tuple[str, str]:
        REQUEST.set("req-1")
        seen = await run_blocking(read_and_set)
        return seen, REQUEST.get()

    assert asyncio.run(main()) == ("req-1", "req-1")


def test_calls_run_at_once_up_to_the_thread_count() -> None:
    worker_threads.ensure_threads(4)
    barrier = threading.Barrier(4, timeout=5)  # broken (an error) unless all 4 meet

    async def main() -> list[int]:
        return list(await asyncio.gather(*(run_blocking(barrier.wait) for _ in range(4))))

    assert sorted(asyncio.run(main())) == [0, 1, 2, 3]
    assert worker_threads.thread_count() >= 4


def test_a_cancelled_request_does_not_cut_its_call_short() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        finished.set()
        return "done"

    errors: list[dict[str, object]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        task = asyncio.ensure_future(run_blocking(slow))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        # The call goes on to its end; its result is dropped without an error on the loop.
        await asyncio.get_running_loop().run_in_executor(None, finished.wait, 5)
        await asyncio.sleep(0.05)
        assert await run_blocking(lambda: "next call") == "next call"

    asyncio.run(main())
    assert finished.is_set()
    assert errors == []


def test_a_result_for_a_closed_loop_is_dropped_and_the_thread_lives_on() -> None:
    started, release = threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        release.wait(5)

    loop = asyncio.new_event_loop()
    task = loop.create_task(run_blocking(slow))
    loop.run_until_complete(asyncio.sleep(0))  # the job is queued
    assert started.wait(5)
    task.cancel()
    loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    loop.close()
    release.set()

    async def main() -> str:
        return await run_blocking(lambda: "still serving")

    assert asyncio.run(main()) == "still serving"


def test_a_forked_child_starts_its_own_threads() -> None:
    import os

    worker_threads.ensure_threads(2)
    pid = os.fork()
    if pid == 0:  # the child: the parent's threads are gone; calls must still be served
        code = 1
        try:
            if worker_threads.thread_count() == 0:
                code = 0 if asyncio.run(run_blocking(lambda: 42)) == 42 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert worker_threads.thread_count() >= 2  # the parent keeps its own
