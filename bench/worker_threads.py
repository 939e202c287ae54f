"""One round trip to a worker thread and back: anyio's ``run_in_threadpool`` against
``linkbase.api.worker_threads.run_blocking``, side by side in the same process and event loop.

How to run (from the repository root, with the venv)::

    .venv/bin/python -m bench.worker_threads              # uvloop, as ``linkbase serve`` runs
    .venv/bin/python -m bench.worker_threads --asyncio    # the standard event loop

Each request of the server makes one such round trip (its whole database work runs in it), so
its cost is paid on every request; a bare FastAPI endpoint costs about 0.22 ms of CPU per
request on the 2-core machine this was measured on. The work itself is empty, so what is timed
is the handoff alone. Alternating rounds; medians of CPU (all threads) and wall time per call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from fastapi.concurrency import run_in_threadpool

from linkbase.api.worker_threads import ensure_threads, run_blocking

Runner = Callable[[Callable[[], None]], Awaitable[None]]


def _nothing() -> None:
    return None


async def _round(run: Runner, calls: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await run(_nothing)
    return ((time.process_time() - cpu) / calls * 1e3, (time.perf_counter() - wall) / calls * 1e3)


async def _bench(rounds: int, calls: int) -> None:
    ensure_threads(8)
    runners: dict[str, Runner] = {"anyio run_in_threadpool": run_in_threadpool,
                                  "worker_threads.run_blocking": run_blocking}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
    for run in runners.values():  # warm up both
        await _round(run, calls // 10)
    for _ in range(rounds):
        for name, run in runners.items():
            results[name].append(await _round(run, calls))
    print(f"{'mechanism':<30}{'CPU ms/call':>13}{'wall ms/call':>14}")
    medians = {}
    for name, samples in results.items():
        cpu = statistics.median(s[0] for s in samples)
        wall = statistics.median(s[1] for s in samples)
        medians[name] = (cpu, wall)
        print(f"{name:<30}{cpu:>13.3f}{wall:>14.3f}")
    (anyio_cpu, anyio_wall), (ours_cpu, ours_wall) = medians.values()
    print(f"\nrun_blocking / anyio: CPU {ours_cpu / anyio_cpu:.2f}, wall {ours_wall / anyio_wall:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asyncio", action="store_true", help="the standard event loop")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.asyncio:
        asyncio.run(_bench(args.rounds, args.calls))
    else:
        import uvloop

        uvloop.run(_bench(args.rounds, args.calls))


if __name__ == "__main__":
    main()
