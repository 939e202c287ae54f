"""``linkbase serve --tls-cert/--tls-key``: HTTPS (and wss://) with one process or several, and
one-line refusals of an incomplete or unusable pair."""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.server import cli_command, running_server
from tests.support.tls import self_signed


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serves_https_and_says_wss(database_url: str, tmp_path: Path, workers: str) -> None:
    tls = self_signed(tmp_path)
    with running_server(database_url, tls=tls, extra_args=("--workers", workers)) as server:
        assert server.url.startswith("https://")
        trust = ssl.create_default_context(cafile=tls[0])  # the certificate really is served
        with httpx.Client(verify=trust) as http:
            doc = http.get(f"{server.url}/discovery/v1/apis/arvados/v1/rest").json()
        assert doc["rootUrl"] == f"{server.url}/"
        assert doc["websocketUrl"] == f"wss://127.0.0.1:{server.port}/websocket"
        assert "listening on https://" in server.log()


def test_incomplete_or_unusable_pairs_are_refused_in_one_line(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    database = f"sqlite:///{tmp_path / 'x.db'}"
    for extra, message in ((["--tls-cert", cert], "--tls-cert and --tls-key go together"),
                           (["--tls-key", key], "--tls-cert and --tls-key go together"),
                           (["--tls-cert", cert, "--tls-key", str(tmp_path / "none.pem")],
                            "cannot use the TLS certificate"),
                           (["--tls-cert", key, "--tls-key", key],
                            "cannot use the TLS certificate")):
        done = subprocess.run(cli_command("serve", "--port", "0", "--database", database,
                                          *extra), capture_output=True, text=True, timeout=60)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], done.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_stopping_server_does_not_wait_for_an_idle_keep_alive_client(
        database_url: str, tmp_path: Path, workers: str) -> None:
    """SIGTERM with a TLS client holding a kept-alive connection between requests: the server
    drops that connection and exits, instead of waiting (up to 30 s) for the client's reply to
    its TLS close."""
    tls = self_signed(tmp_path)
    with running_server(database_url, tls=tls, extra_args=("--workers", workers)) as server:
        context = ssl.create_default_context(cafile=tls[0])
        context.check_hostname = False
        idle = context.wrap_socket(socket.create_connection(("127.0.0.1", server.port)))
        try:
            idle.sendall(b"GET /_health/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert idle.recv(4096).startswith(b"HTTP/1.1 200 OK")
            server.process.send_signal(signal.SIGTERM)
            # Well inside the harness's own 10 s before SIGKILL; the old wait was 30 s. uvicorn
            # re-raises the signal it shut down on, the supervisor of several exits 0.
            assert server.process.wait(timeout=8) in (0, -signal.SIGTERM), server.log()
        finally:
            idle.close()
