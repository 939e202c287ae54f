"""CLI behaviour that needs no server: usage errors, bad JSON, unreachable server, help."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.conftest import Cli, assert_one_line_error

pytestmark = pytest.mark.usefixtures("_no_inherited_config")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{_closed_port()}"


USAGE_ERRORS = [
    pytest.param(["link", "get"], "Missing argument 'UUID' (or option '--uuid')", id="missing-uuid"),
    pytest.param(["link", "create"], "Missing option '--link'", id="missing-body"),
    pytest.param(["link", "update", "--uuid", "x"], "Missing option '--link'", id="missing-update"),
    pytest.param(["link", "list", "--bogus"], "No such option: --bogus", id="unknown-flag"),
    pytest.param(["--bogus", "link", "list"], "No such option: --bogus", id="unknown-global"),
    pytest.param(["nosuch"], "No such command 'nosuch'", id="unknown-command"),
    pytest.param(["link", "frobnicate"], "No such command 'frobnicate'", id="unknown-verb"),
    pytest.param(["--format=xml", "link", "list"], "'xml' is not one of", id="bad-format"),
    pytest.param(["link", "list", "--limit", "ten"], "--limit", id="bad-limit"),
    pytest.param(["link", "list", "--limit", "-1"], "--limit", id="negative-limit"),
    pytest.param(["link", "list", "--count", "some"], "--count", id="bad-count"),
    pytest.param(["import"], "Missing argument", id="import-no-file"),
    pytest.param(["import", "x.jsonl", "--on-duplicate", "merge"], "--on-duplicate",
                 id="import-bad-policy"),
    pytest.param(["import", "x.jsonl", "--batch-size", "0"], "--batch-size", id="bad-batch"),
    pytest.param(["user", "update", "--uuid", "u"], "Missing option '--user'", id="user-body"),
    pytest.param(["api_client_authorization", "create"],
                 "Missing option '--api-client-authorization'", id="token-body"),
]


@pytest.mark.parametrize(("args", "expected"), USAGE_ERRORS)
def test_usage_errors_exit_2_with_one_line(
    offline_cli: Cli, dead_url: str, args: list[str], expected: str
) -> None:
    result = offline_cli(*args, env={"LINKBASE_URL": dead_url})
    line = assert_one_line_error(result, 2)
    assert expected in line
    assert line.startswith("linkbase")


MALFORMED = [
    pytest.param(["link", "create", "--link", "{bad"], "invalid JSON in --link", id="link"),
    pytest.param(["link", "create", "--link", '{"a": 1,}'], "invalid JSON in --link",
                 id="trailing-comma"),
    pytest.param(["link", "create", "--link", "[1, 2]"], "--link must be a JSON object",
                 id="link-not-object"),
    pytest.param(["link", "update", "--uuid", "x", "--link", "nope"], "invalid JSON in --link",
                 id="update"),
    pytest.param(["link", "list", "--filters", '[["link_class", "=", "star"]'],
                 "invalid JSON in --filters", id="filters"),
    pytest.param(["link", "list", "--filters", '{"a": 1}'], "--filters must be a JSON array",
                 id="filters-object"),
    pytest.param(["link", "list", "--where", "[]"], "--where must be a JSON object", id="where"),
    pytest.param(["link", "list", "--select", '["uuid",'], "invalid JSON in --select",
                 id="select"),
    pytest.param(["link", "list", "--order", "[1]"], "--order must be an array of strings",
                 id="order"),
    pytest.param(["group", "create", "--group", "{"], "invalid JSON in --group", id="group"),
    pytest.param(["user", "create", "--user", "{"], "invalid JSON in --user", id="user"),
    pytest.param(["collection", "create", "--collection", "x"], "invalid JSON in --collection",
                 id="collection"),
    pytest.param(["api_client_authorization", "create", "--api_client_authorization", "{"],
                 "invalid JSON in --api-client-authorization", id="token-underscore-flag"),
    pytest.param(["export", "--filters", "]"], "invalid JSON in --filters", id="export"),
    pytest.param(["link", "create", "--link", "@/nonexistent/body.json"], "cannot read",
                 id="missing-file"),
]


@pytest.mark.parametrize(("args", "expected"), MALFORMED)
def test_malformed_json_flags_exit_2_before_any_request(
    offline_cli: Cli, dead_url: str, args: list[str], expected: str
) -> None:
    # The URL is dead: a request would give exit 1, so exit 2 proves nothing was sent.
    line = assert_one_line_error(offline_cli(*args, env={"LINKBASE_URL": dead_url}), 2)
    assert expected in line


def test_malformed_json_from_stdin(offline_cli: Cli, dead_url: str) -> None:
    result = offline_cli("link", "create", "--link", "-", input="{oops",
                         env={"LINKBASE_URL": dead_url})
    assert "invalid JSON in --link" in assert_one_line_error(result, 2)


@pytest.mark.parametrize(
    "args",
    [
        ["link", "list"],
        ["link", "get", "--uuid", "zzzzz-o0j2j-0123456789abcde"],
        ["link", "create", "--link", '{"link_class": "tag", "name": "x"}'],
        ["link", "delete", "--uuid", "zzzzz-o0j2j-0123456789abcde"],
        ["user", "current"],
        ["export"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_unreachable_server_is_one_line_exit_1(
    offline_cli: Cli, dead_url: str, args: list[str]
) -> None:
    line = assert_one_line_error(offline_cli(*args, env={"LINKBASE_URL": dead_url}), 1)
    assert f"cannot reach {dead_url}" in line
    assert "connection refused" in line


def test_unreachable_server_during_import(offline_cli: Cli, dead_url: str) -> None:
    (offline_cli.home / "in.jsonl").write_text('{"link_class": "tag", "name": "a"}\n')
    result = offline_cli("import", "in.jsonl", env={"LINKBASE_URL": dead_url})
    assert result.returncode == 1, str(result)
    assert "Traceback" not in result.stderr
    assert f"cannot reach {dead_url}: connection refused" in result.stderr


def test_unresolvable_host_is_one_line(offline_cli: Cli) -> None:
    result = offline_cli("link", "list", env={"LINKBASE_URL": "http://no-such-host.invalid:1"})
    assert "cannot reach http://no-such-host.invalid:1" in assert_one_line_error(result, 1)


def test_arvados_variables_are_honoured(offline_cli: Cli) -> None:
    port = _closed_port()
    result = offline_cli("link", "list", env={"ARVADOS_API_HOST": f"127.0.0.1:{port}",
                                              "ARVADOS_API_TOKEN": "t"})
    # host[:port] means https, as arv reads it
    assert f"cannot reach https://127.0.0.1:{port}" in assert_one_line_error(result, 1)
    result = offline_cli("link", "list", env={"ARVADOS_API_HOST": f"http://127.0.0.1:{port}"})
    assert f"cannot reach http://127.0.0.1:{port}" in assert_one_line_error(result, 1)


def test_no_server_configured_is_a_usage_error(offline_cli: Cli) -> None:
    line = assert_one_line_error(offline_cli("link", "list"), 2)
    assert "LINKBASE_URL" in line


def test_url_flag_overrides_environment(offline_cli: Cli, dead_url: str) -> None:
    result = offline_cli("--url", dead_url, "link", "list",
                         env={"LINKBASE_URL": "http://no-such-host.invalid"})
    assert f"cannot reach {dead_url}" in assert_one_line_error(result, 1)


# ---------------------------------------------------------------------------------------------
# Help


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            yield from _walk(sub, (*path, name))


def _client_commands() -> list[tuple[str, ...]]:
    from linkbase.cli.main import build_command

    server_side = {"serve", "db", "token", "repository", "link-definition"}
    return [p for p in _walk(build_command()) if not (p and p[0] in server_side)]


@pytest.mark.parametrize("path", _client_commands(), ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help(offline_cli: Cli, path: tuple[str, ...]) -> None:
    result = offline_cli(*path, "--help")
    assert result.returncode == 0, str(result)
    assert "Usage: linkbase" in result.stdout
    assert result.stderr == ""
    ours = {"link", "user", "group", "collection", "api_client_authorization"}
    if (len(path) == 2 and path[0] in ours and path[1] != "set-password") or path in (
        ("export",),
        ("import",),
    ):
        assert "Examples" in result.stdout, f"no examples in help of {path}"
        assert "$ linkbase" in result.stdout


def test_help_shows_documented_syntax(offline_cli: Cli) -> None:
    out = offline_cli("link", "create", "--help").stdout
    assert "--link" in out and "--select" in out
    out = offline_cli("link", "list", "--help").stdout
    for flag in ("--filters", "--where", "--order", "--limit", "--offset", "--select", "--count",
                 "--distinct"):
        assert flag in out, flag
    assert '["link_class", "=", "star"]' in out
    out = offline_cli("--help").stdout
    for word in ("--format", "--short", "--install-completion", "link", "user", "group",
                 "collection", "api_client_authorization", "export", "import"):
        assert word in out, word


def test_help_with_short_flag(offline_cli: Cli) -> None:
    assert offline_cli("link", "-h").returncode == 0


def test_no_arguments_shows_help(offline_cli: Cli) -> None:
    result = offline_cli()
    assert "Usage: linkbase" in result.stdout
    assert "Traceback" not in result.stderr


def test_version(offline_cli: Cli) -> None:
    from linkbase import __version__

    result = offline_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"linkbase {__version__}"


def test_show_completion(offline_cli: Cli) -> None:
    result = offline_cli("--show-completion", env={"SHELL": "/bin/bash"}, from_shell="bash")
    assert result.returncode == 0, str(result)
    assert re.search(r"_LINKBASE_COMPLETE", result.stdout), result.stdout[:500]


def test_install_completion(offline_cli: Cli) -> None:
    result = offline_cli("--install-completion", env={"SHELL": "/bin/bash"}, from_shell="bash")
    assert result.returncode == 0, str(result)
    assert (offline_cli.home / ".bashrc").exists()


def test_completion_lists_commands(offline_cli: Cli) -> None:
    result = offline_cli(env={"_LINKBASE_COMPLETE": "complete_bash", "COMP_WORDS": "linkbase li",
                              "COMP_CWORD": "1"})
    assert "link" in result.stdout.split(), str(result)


# ---------------------------------------------------------------------------------------------
# Same-named commands from linkbase.cli.serve (server-side, direct database access)


def _has_server_commands() -> bool:
    import importlib.util

    return importlib.util.find_spec("linkbase.cli.serve") is not None


@pytest.mark.skipif(not _has_server_commands(), reason="linkbase.cli.serve not present")
def test_user_commands_dispatch_between_api_and_server_side(offline_cli: Cli, dead_url: str
                                                            ) -> None:
    help_text = offline_cli("user", "create", "--help").stdout
    assert "--user" in help_text and "server-side form" in help_text
    # API form: needs the server (dead here), so exit 1 proves it was chosen
    api = offline_cli("user", "list", env={"LINKBASE_URL": dead_url})
    assert "cannot reach" in assert_one_line_error(api, 1)
    # server-side form, chosen by --database
    database = f"sqlite:///{offline_cli.home / 'admin.db'}"
    local = offline_cli("user", "list", "--database", database)
    assert local.returncode == 0, str(local)
    assert "zzzzz-tpzed-000000000000000" in local.stdout
