"""Run a real ``linkbase serve`` process for a test: free loopback port, readiness, teardown.

Usage::

    with running_server(database_url, root_token="...") as server:
        httpx.get(f"{server.url}/_health/ping")
        subprocess.run([...], env=server.cli_env())

Why a real process: the CLI, the Arvados SDK and the Laserfiche client must be tested against
what users run, including start-up (migrations, seeding), uvicorn and signal handling.

Guarantees:

* the port is free when chosen, and a start that loses the race for it is retried;
* the server is ready (``GET /_health/ping`` answers 200) when the block starts, or the test
  fails within ``ready_timeout`` seconds with the server's own output in the message;
* the process is terminated (then killed) on exit, even when the block raises;
* the server's stdout and stderr go to a temporary log file, readable at any time through
  :meth:`ServerHandle.log`, and shown in every failure message.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
_START_ATTEMPTS = 3
#: Environment variables a test server (and a CLI run against it) must not inherit.
_ISOLATED_PREFIXES = ("LINKBASE_", "ARVADOS_")


class ServerStartError(RuntimeError):
    """The server exited or never became ready; the message holds its output."""


@dataclass
class ServerHandle:
    """A running server: where it listens, the admin token, and the process."""

    url: str
    root_token: str
    process: subprocess.Popen[bytes]
    log_path: Path
    database_url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def log(self) -> str:
        """Everything the server has written to stdout and stderr so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def cli_env(
        self, token: str | None = None, base: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """An environment for running the ``linkbase`` CLI against this server.

        Inherited ``LINKBASE_*``/``ARVADOS_*`` variables are removed so the developer's own
        configuration cannot leak into a test; ``HOME`` stays as is unless ``base`` says otherwise.
        """
        env = clean_environment(base)
        env["LINKBASE_URL"] = self.url
        env["LINKBASE_TOKEN"] = self.root_token if token is None else token
        return env

    def client(self, token: str | None = None, timeout: float = 30.0) -> httpx.Client:
        """A plain httpx client with the token set (caller closes it)."""
        return httpx.Client(
            base_url=self.url, verify=False,
            headers={"Authorization": f"Bearer {token or self.root_token}"},
            timeout=timeout,
        )


def clean_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) without any ``LINKBASE_*``/``ARVADOS_*`` variable."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not k.startswith(_ISOLATED_PREFIXES)}


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_command(*args: str) -> list[str]:
    """A ``linkbase`` command line: the console script when installed, else ``-m``."""
    script = Path(sys.executable).with_name("linkbase")
    if not script.exists():
        found = shutil.which("linkbase")
        script = Path(found) if found else script
    head = [str(script)] if script.exists() else [sys.executable, "-m", "linkbase.cli.main"]
    return [*head, *args]


def server_command(port: int, database_url: str, *extra: str) -> list[str]:
    """The command line starting the server."""
    return cli_command("serve", "--host", "127.0.0.1", "--port", str(port), "--database",
                       database_url, *extra)


def _tail(text: str, lines: int = 60) -> str:
    rows = text.rstrip().splitlines()
    shown = rows[-lines:]
    prefix = f"[... {len(rows) - lines} earlier lines]\n" if len(rows) > lines else ""
    return prefix + "\n".join(shown) if shown else "(no output)"


def _stop(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, wait, then SIGKILL: the server gets a chance to close its database cleanly."""
    if process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def _wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float) -> str | None:
    """``None`` once the ping answers 200; otherwise why not (exit or timeout)."""
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    with httpx.Client(timeout=2.0, verify=False) as http:
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                return f"exited with status {code} before becoming ready"
            try:
                response = http.get(f"{url}/_health/ping")
                if response.status_code == 200:
                    return None
                last_error = f"ping answered {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.05)
    return f"not ready after {timeout:.0f}s (last ping: {last_error})"


@contextmanager
def running_server(
    database_url: str,
    *,
    root_token: str | None = None,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = READY_TIMEOUT,
    extra_args: Sequence[str] = (),
    tls: tuple[str, str] | None = None,
    port: int | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[ServerHandle]:
    """Start ``linkbase serve`` on a free loopback port; yield once it answers; stop it after.

    ``root_token`` becomes ``LINKBASE_SYSTEM_ROOT_TOKEN`` (a random one when omitted); ``env``
    adds or overrides variables (e.g. ``LINKBASE_CLUSTER_ID``); ``args`` and ``extra_args`` are
    more ``serve`` options (``--workers 2``); ``tls`` (certificate, key) serves HTTPS; ``port``
    asks for that port (to restart a server where clients expect it). Inherited ``LINKBASE_*``
    and ``ARVADOS_*`` variables are dropped first so the developer's shell cannot change the
    server.
    """
    token = root_token or "lbtest" + secrets.token_hex(20)
    workdir = Path(tempfile.mkdtemp(prefix="linkbase-server-"))
    full_env = clean_environment()
    full_env["LINKBASE_SYSTEM_ROOT_TOKEN"] = token
    full_env["PYTHONUNBUFFERED"] = "1"
    full_env.update(env or {})
    failures: list[str] = []
    for attempt in range(1, _START_ATTEMPTS + 1):
        chosen = port or free_port()
        url = f"{'https' if tls else 'http'}://127.0.0.1:{chosen}"
        log_path = workdir / f"server-{attempt}.log"
        tls_args = ("--tls-cert", tls[0], "--tls-key", tls[1]) if tls else ()
        command = server_command(chosen, database_url, *args, *extra_args, *tls_args)
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=full_env,
                cwd=workdir,
            )
        problem = _wait_ready(process, url, ready_timeout)
        if problem is None:
            handle = ServerHandle(url, token, process, log_path, database_url)
            try:
                yield handle
            finally:
                _stop(process)
            return
        _stop(process)
        output = log_path.read_text(encoding="utf-8", errors="replace")
        failures.append(
            f"attempt {attempt}: `{' '.join(command)}` {problem}\n--- server output ---\n"
            f"{_tail(output)}"
        )
        if "address already in use" not in output.lower():
            break  # not a port race: retrying would only repeat the failure
    raise ServerStartError("linkbase serve did not start\n" + "\n".join(failures))
