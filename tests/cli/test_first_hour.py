"""The first hour of a new user, as subprocesses: help that reads like a Unix tool's, both
spellings of a uuid, refusals instead of silent guesses, one-line configuration errors from
``serve``, the start-up banner and ``linkbase demo``."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Cli, assert_one_line_error, linkbase_command
from tests.support.databases import fresh_database_url
from tests.support.server import clean_environment, free_port

pytestmark = pytest.mark.usefixtures("_no_inherited_config")


@pytest.mark.parametrize("path", [("link", "list"), ("import",), ("link", "get"),
                                  ("graph", "neighbors"), ("serve",), ("user", "create")])
def test_help_has_no_bool_placeholders_or_braces(offline_cli: Cli, path: tuple[str, ...]) -> None:
    out = offline_cli(*path, "--help").stdout
    assert "<bool>" not in out
    assert not re.search(r"\{[a-z_]+\}", out), out


def test_positional_arguments_render_in_capitals(offline_cli: Cli) -> None:
    assert "Usage: linkbase import [OPTIONS] SOURCE" in offline_cli("import", "--help").stdout
    assert "Usage: linkbase link get [OPTIONS] [UUID]" in offline_cli("link", "get",
                                                                      "--help").stdout
    assert "[OPTIONS] FROM TO" in offline_cli("graph", "paths", "--help").stdout
    listing = offline_cli("link", "list", "--help").stdout
    assert "[attribute, operator, operand]" in listing  # not eaten as rich markup


def test_url_without_a_scheme_is_refused(offline_cli: Cli) -> None:
    line = assert_one_line_error(offline_cli("--url", "notaurl", "link", "list"), 2)
    assert "notaurl" in line and "http://" in line


def test_limit_beyond_the_page_size_is_refused(offline_cli: Cli) -> None:
    line = assert_one_line_error(offline_cli("--url", "http://127.0.0.1:9", "link", "list",
                                             "--limit", "5000"), 2)
    assert "--limit" in line and "1000" in line


def test_two_different_uuids_are_refused(offline_cli: Cli) -> None:
    result = offline_cli("--url", "http://127.0.0.1:9", "link", "get",
                         "zzzzz-o0j2j-aaaaaaaaaaaaaaa", "--uuid", "zzzzz-o0j2j-bbbbbbbbbbbbbbb")
    assert "two different uuids" in assert_one_line_error(result, 2)


@pytest.mark.parametrize(("database", "expected"), [
    ("mysql://user:secret@db.example/linkbase", "unsupported database URL"),
    ("postgresql://root@127.0.0.1:1/nowhere", "cannot open the database"),
])
def test_serve_with_a_bad_database_is_one_line(offline_cli: Cli, database: str,
                                               expected: str) -> None:
    result = offline_cli("serve", "--port", str(free_port()), "--database", database,
                         timeout=60)
    line = assert_one_line_error(result, 2)
    assert expected in line
    assert "secret" not in line  # passwords are masked


def test_serve_on_a_port_in_use_is_one_line(offline_cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = offline_cli("serve", "--port", str(port), "--database",
                             f"sqlite:///{tmp_path / 'x.db'}", timeout=60)
    assert "address already in use" in assert_one_line_error(result, 2)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_demo_fills_an_empty_database_once(offline_cli: Cli, tmp_path: Path,
                                           backend: str) -> None:
    url = fresh_database_url(backend, tmp_path)
    made = offline_cli("demo", "--database", url, timeout=120)
    assert made.returncode == 0, str(made)
    tokens = dict(re.findall(r"^\s+(\w+)\s+password \S+\s+token (\w+)", made.stdout, re.M))
    assert set(tokens) == {"alice", "bob", "carol"}
    again = offline_cli("demo", "--database", url, timeout=120)
    assert "not empty" in assert_one_line_error(again, 1)
    # the printed token works, and the world is there, with its relation links
    port = free_port()
    env = clean_environment()
    with subprocess.Popen([*linkbase_command(), "serve", "--port", str(port), "--database", url],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          cwd=tmp_path) as server:
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/_health/ping").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            relations = offline_cli("--url", base, "--token", tokens["alice"], "-s", "link",
                                    "list", "--filters", '[["link_class", "=", "relation"]]')
            # Alice linked the contract and its amendments; Bob the board and mail papers (on
            # the Arvados face a relation link is its owner's, spec §5.3)
            assert len(relations.lines()) == 3, str(relations)
            carol = offline_cli("--url", base, "--token", tokens["carol"], "-s", "link", "list",
                                "--filters", '[["link_class", "=", "relation"]]')
            assert carol.returncode == 0 and carol.lines() == []
        finally:
            server.terminate()
            output = server.communicate(timeout=30)[0].decode()
    for needle in (f"listening on http://127.0.0.1:{port}", "/ui/", "/docs",
                   "/discovery/v1/apis/arvados/v1/rest", "linkbase token create",
                   "Admin      token (shown once"):
        assert needle in output, output
