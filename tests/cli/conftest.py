"""Fixtures for CLI tests: a real server per module and backend, and a subprocess CLI runner.

The CLI is always run as a separate process (the installed ``linkbase`` script), exactly as a
user runs it, so exit statuses, stdout/stderr separation and the absence of tracebacks are
tested for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.server import ServerHandle, clean_environment, running_server

ROOT_TOKEN = "lbclitestroot" + "0" * 27
PUBLIC_FAVORITES = "zzzzz-j7d0g-publicfavorites"
SYSTEM_USER = "zzzzz-tpzed-000000000000000"
UUID_RE = r"^zzzzz-[0-9a-z]{5}-[0-9a-z]{15}$"


def linkbase_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("linkbase")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "linkbase.cli.main"]


@dataclass
class Result:
    """A finished CLI run."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def __str__(self) -> str:
        return (
            f"linkbase {' '.join(self.args)} -> {self.returncode}\n"
            f"--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}"
        )


def assert_one_line_error(result: Result, code: int) -> str:
    """The run failed with ``code``, said so in exactly one stderr line, and printed no trace."""
    assert result.returncode == code, str(result)
    assert "Traceback" not in result.stderr, str(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, str(result)
    assert result.stdout == "", str(result)
    return lines[0]


class Cli:
    """Runs ``linkbase`` against a server (or none) with an isolated environment."""

    def __init__(self, server: ServerHandle | None, home: Path) -> None:
        self.server = server
        self.home = home

    def env(self, token: str | None = None, extra: Mapping[str, str] | None = None
            ) -> dict[str, str]:
        base = clean_environment()
        base["HOME"] = str(self.home)  # no ~/.config/arvados/settings.conf from the developer
        base.pop("XDG_CONFIG_HOME", None)
        base["COLUMNS"] = "100"
        if self.server is not None:
            base = self.server.cli_env(token, base)
        base.update(extra or {})
        return base

    def __call__(
        self,
        *args: str,
        token: str | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 300,
        cwd: Path | None = None,
        from_shell: str | None = None,
    ) -> Result:
        command = [*linkbase_command(), *args]
        if from_shell is not None:
            # Started by that shell, which stays its parent (a second command after it keeps
            # the shell from exec-ing it): what shell completion detects, whatever started the
            # tests (CI's bash, or a runner whose parent shell has already exited).
            command = [from_shell, "-c", '"$@"; exit $?', from_shell, *command]
        proc = subprocess.run(
            command,
            input=input,
            capture_output=True,
            text=True,
            env=self.env(token, env),
            timeout=timeout,
            cwd=cwd or self.home,
        )
        return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kwargs: Any) -> Result:
        """Run and require exit status 0 with nothing alarming on stderr."""
        result = self(*args, **kwargs)
        assert result.returncode == 0, str(result)
        assert "Traceback" not in result.stderr, str(result)
        return result


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerHandle]:
    """One real ``linkbase serve`` per test module and backend, on a fresh database."""
    database_url = fresh_database_url(str(request.param), tmp_path_factory.mktemp("db"))
    with running_server(database_url, root_token=ROOT_TOKEN) as handle:
        yield handle


@pytest.fixture(scope="module")
def cli(server: ServerHandle, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The CLI pointed at the module's server, authenticated as the system root."""
    return Cli(server, tmp_path_factory.mktemp("home"))


@pytest.fixture
def offline_cli(tmp_path: Path) -> Cli:
    """The CLI with no server configured."""
    return Cli(None, tmp_path)


@pytest.fixture(autouse=True)
def _no_inherited_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("LINKBASE_", "ARVADOS_")) and name != "LINKBASE_TEST_POSTGRES_URL":
            monkeypatch.delenv(name, raising=False)
