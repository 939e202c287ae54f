"""Shared benchmark plumbing: scratch databases (a temporary SQLite file or a throw-away
PostgreSQL schema) and real ``linkbase serve`` processes over them."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa


@contextmanager
def scratch_database(backend: str, pg_url: str, name: str = "bench") -> Iterator[str]:
    """A URL of a new, empty database of ``backend``; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="linkbase-bench-") as tmp:
            yield f"sqlite:///{tmp}/{name}.db"
        return
    schema = f"lbbench_{name}_{secrets.token_hex(4)}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in pg_url else "?"
        yield f"{pg_url}{sep}options={urllib.parse.quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def linkbase_command(*args: str) -> list[str]:
    """A ``linkbase`` command line (the console script next to this interpreter if any)."""
    script = Path(sys.executable).with_name("linkbase")
    if not script.exists() and shutil.which("linkbase"):
        script = Path(str(shutil.which("linkbase")))
    head = [str(script)] if script.exists() else [sys.executable, "-m", "linkbase.cli.main"]
    return [*head, *args]


@contextmanager
def running_server(database_url: str, root_token: str, *extra: str,
                   cpus: str | None = None) -> Iterator[str]:
    """A running ``linkbase serve`` (``extra``: more options, e.g. ``--workers 2``; ``cpus``:
    pinned there with taskset); yields its base URL; terminated on exit."""
    port = free_port()
    command = linkbase_command("serve", "--host", "127.0.0.1", "--port", str(port),
                               "--database", database_url, *extra)
    with running_process(command, port, root_token, cpus) as url:
        yield url


@contextmanager
def running_process(command: list[str], port: int, root_token: str = "",
                    cpus: str | None = None) -> Iterator[str]:
    """Any HTTP server ``command`` listening on ``port`` with a ``/_health/ping``; yields its
    base URL once it answers; terminated on exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKBASE_")}
    env["LINKBASE_SYSTEM_ROOT_TOKEN"] = root_token
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise SystemExit(f"server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(url + "/_health/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not become ready within 60 s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Wrk:
    """What one ``wrk`` run reported."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    server_errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(url: str, connections: int, seconds: float, token: str | None = None,
            script: Path | None = None, env: dict[str, str] | None = None,
            cpus: str | None = None) -> Wrk:
    """Run ``wrk`` (one thread; pinned to ``cpus`` with taskset if given) and parse its summary
    and latency distribution. Install it with ``apt-get install wrk``."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    if cpus is not None:
        command = ["taskset", "-c", cpus, *command]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout
    span = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    assert span is not None, out
    requests = int(span.group(1))
    elapsed = float(span.group(2)) / (1000 if span.group(3) == "ms" else 1)
    p50 = re.search(r"^\s+50%\s+(\S+)\s*$", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)\s*$", out, re.M)
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    fatal = re.search(r"server errors: (\d+)", out)
    assert p50 is not None and p99 is not None, out
    return Wrk(requests, elapsed, _ms(p50.group(1)), _ms(p99.group(1)),
               int(non.group(1)) if non else 0, int(fatal.group(1)) if fatal else 0)
