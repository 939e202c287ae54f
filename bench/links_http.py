"""Link create/get/list throughput over HTTP, side by side with a bare JSON endpoint.

How to run (from the repository root, with the venv)::

    .venv/bin/python bench/links_http.py                      # SQLite, 1000 requests, c=1 and 8
    .venv/bin/python bench/links_http.py -n 3000 -c 1 -c 16
    .venv/bin/python bench/links_http.py --backend sqlite --backend postgresql \\
        --postgres-url postgresql+psycopg://root@127.0.0.1:5432/test

What it does: starts a real ``linkbase serve`` process (the ``linkbase`` console script next to
this interpreter, else ``python -m linkbase.cli.main``) on a free loopback port over a fresh
database (a temporary SQLite file, or a new PostgreSQL schema dropped afterwards), then for each
concurrency level sends, with httpx over keep-alive connections:

* ``ping``   — ``GET /_health/ping``: a bare FastAPI JSON endpoint served by the same uvicorn
  process; the ceiling of this server stack and client, the baseline of every ratio;
* ``create`` — ``POST /arvados/v1/links`` (a tag link per request, root token);
* ``get``    — ``GET /arvados/v1/links/{uuid}`` over the links just created;
* ``list``   — ``GET /arvados/v1/links`` with a ``link_class`` filter, ``limit=10``.

It prints requests/s per operation and the ratio to ``ping`` (1.00 = as fast as an endpoint that
does nothing). Every response must be 200, or the run aborts. The client runs in this process
(one asyncio loop), so the absolute figures are bounded by it too; the ratios are the point.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from scratch import running_server, scratch_database

ROOT_TOKEN = "bench" + secrets.token_hex(20)
DEFAULT_PG = os.environ.get("LINKBASE_TEST_POSTGRES_URL",
                            "postgresql+psycopg://root@127.0.0.1:5432/test")


@dataclass
class Result:
    """One measured operation at one concurrency."""

    backend: str
    op: str
    concurrency: int
    requests: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else float("inf")


async def run(client: httpx.AsyncClient, n: int, concurrency: int,
              make: Callable[[int], Awaitable[httpx.Response]]) -> float:
    """Send ``n`` requests with ``concurrency`` workers; seconds taken. Every answer must be 200."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            resp = await make(i)
            if resp.status_code != 200:
                raise SystemExit(f"request {i} failed: {resp.status_code} {resp.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def bench_backend(backend: str, base: str, n: int, levels: list[int]) -> list[Result]:
    """All operations at every concurrency level against one server."""
    results: list[Result] = []
    limits = httpx.Limits(max_connections=max(levels), max_keepalive_connections=max(levels))
    headers = {"Authorization": f"Bearer {ROOT_TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=60) as client:
        # Warm-up: connections, first-query caches.
        for _ in range(20):
            await client.get("/_health/ping")
            await client.get("/arvados/v1/links", params={"limit": "1"})
        for c in levels:
            link_class = f"bench-c{c}"
            created: list[str] = []

            async def ping(_i: int) -> httpx.Response:
                return await client.get("/_health/ping")

            async def create(i: int, link_class: str = link_class,
                             created: list[str] = created) -> httpx.Response:
                resp = await client.post("/arvados/v1/links", json={"link": {
                    "link_class": link_class, "name": f"l{i}", "properties": {"i": i}}})
                if resp.status_code == 200:
                    created.append(resp.json()["uuid"])
                return resp

            async def get(i: int, created: list[str] = created) -> httpx.Response:
                return await client.get(f"/arvados/v1/links/{created[i % len(created)]}")

            flt = json.dumps([["link_class", "=", link_class]])

            async def list_(_i: int, flt: str = flt) -> httpx.Response:
                return await client.get("/arvados/v1/links",
                                        params={"filters": flt, "limit": "10"})

            for op, make in (("ping", ping), ("create", create), ("get", get),
                             ("list", list_)):
                seconds = await run(client, n, c, make)
                results.append(Result(backend, op, c, n, seconds))
    return results


def report(results: list[Result]) -> None:
    """Print a table: requests/s and the ratio to ping at the same backend and concurrency."""
    base = {(r.backend, r.concurrency): r.rate for r in results if r.op == "ping"}
    print(f"{'backend':<11} {'op':<7} {'conc':>4} {'requests':>8} {'seconds':>8} "
          f"{'req/s':>9} {'vs ping':>8}")
    for r in results:
        ratio = r.rate / base[(r.backend, r.concurrency)]
        print(f"{r.backend:<11} {r.op:<7} {r.concurrency:>4} {r.requests:>8} "
              f"{r.seconds:>8.2f} {r.rate:>9.0f} {ratio:>8.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"],
                        help="repeatable; default sqlite")
    parser.add_argument("-n", "--requests", type=int, default=1000,
                        help="requests per operation and concurrency level (default 1000)")
    parser.add_argument("-c", "--concurrency", type=int, action="append",
                        help="repeatable; default 1 and 8")
    parser.add_argument("--postgres-url", default=DEFAULT_PG,
                        help="admin URL for PostgreSQL (a schema is created and dropped)")
    args = parser.parse_args(argv)
    backends = args.backend or ["sqlite"]
    levels = args.concurrency or [1, 8]
    results: list[Result] = []
    for backend in backends:
        with scratch_database(backend, args.postgres_url) as url, \
                running_server(url, ROOT_TOKEN) as base:
            results += asyncio.run(bench_backend(backend, base, args.requests, levels))
    report(results)


if __name__ == "__main__":
    main()
