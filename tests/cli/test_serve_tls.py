"""``linkbase serve --tls-cert/--tls-key``: HTTPS (and wss://) with one process or several, and
one-line refusals of an incomplete or unusable pair."""

from __future__ import annotations

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
