"""``linkbase graph neighbors|paths`` against a real server, per backend."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli, assert_one_line_error


def _made(cli: Cli, resource: str, body: dict[str, object]) -> str:
    return cli.ok("-s", resource, "create", f"--{resource}", json.dumps(body)).stdout.strip()


def test_neighbors_and_paths(cli: Cli) -> None:
    project = _made(cli, "group", {"group_class": "project", "name": "Graph CLI"})
    a, b = (_made(cli, "collection", {"name": n, "owner_uuid": project}) for n in ("a", "b"))
    link = _made(cli, "link", {"link_class": "relation", "name": "cites", "tail_uuid": a,
                               "head_uuid": b})
    around = cli.ok("graph", "neighbors", a, "--link-class", "relation").json()
    assert {n["uuid"]: n["depth"] for n in around["nodes"]} == {a: 0, b: 1}
    assert [e["uuid"] for e in around["edges"]] == [link]
    assert cli.ok("-s", "graph", "neighbors", a).lines() == [a, b]
    assert cli.ok("-s", "graph", "paths", a, b, "--max-depth", "2").lines() == [f"{a} {b}"]
    out = cli.ok("graph", "paths", a, b, "--direction", "in").json()
    assert out["paths"] == []
    line = assert_one_line_error(cli("graph", "neighbors", "zzzzz-4zz18-zzzzzzzzzzzzzzz"), 1)
    assert "404" in line
    assert_one_line_error(cli("graph", "neighbors", a, "--depth", "4"), 2)


def test_get_accepts_the_uuid_as_an_argument(cli: Cli) -> None:
    project = _made(cli, "group", {"group_class": "project", "name": "Positional"})
    assert cli.ok("group", "get", project).json()["uuid"] == project
    assert cli.ok("-s", "group", "get", "--uuid", project).stdout.strip() == project
    assert cli.ok("-s", "group", "update", project, "--group",
                  '{"description": "x"}').stdout.strip() == project
