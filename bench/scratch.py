"""Shared benchmark plumbing: scratch databases (a temporary SQLite file or a throw-away
PostgreSQL schema) and real ``linkbase serve`` processes over them."""

from __future__ import annotations

import os
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
def running_server(database_url: str, root_token: str, *extra: str) -> Iterator[str]:
    """A running ``linkbase serve`` (``extra``: more options, e.g. ``--workers 2``); yields its
    base URL; terminated on exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKBASE_")}
    env["LINKBASE_SYSTEM_ROOT_TOKEN"] = root_token
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    command = linkbase_command("serve", "--host", "127.0.0.1", "--port", str(port),
                               "--database", database_url, *extra)
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
