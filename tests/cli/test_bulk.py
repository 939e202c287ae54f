"""Bulk export/import against a real server: round trips, resume, rejections, policies."""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import SYSTEM_USER, Cli, linkbase_command

IMPORTED_FIELDS = ("head_uuid", "link_class", "name", "owner_uuid", "properties", "tail_uuid",
                   "uuid")
EXPORTED_FIELDS = {*IMPORTED_FIELDS, "created_at"}
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def canonical(record: dict[str, Any]) -> str:
    """The export's line format, restricted to the imported fields."""
    return json.dumps({k: record.get(k) for k in IMPORTED_FIELDS}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))


def make_links(n: int, seed: int, classes: list[str], heads: list[str]) -> list[dict[str, Any]]:
    """``n`` links of mixed classes, names, tails and properties, each with its own uuid."""
    rng = random.Random(seed)
    links = []
    for i in range(n):
        cls = classes[i % len(classes)]
        links.append({
            "uuid": "zzzzz-o0j2j-" + "".join(rng.choice(_ALPHABET) for _ in range(15)),
            "owner_uuid": SYSTEM_USER,
            "link_class": cls,
            "name": None if i % 7 == 0 else f"{cls}-{i}",
            "tail_uuid": [None, SYSTEM_USER, heads[0]][i % 3],
            "head_uuid": heads[i % len(heads)] if i % 5 else f"urn:example:item:{i}",
            "properties": {} if i % 4 == 0 else {"i": i, "note": "ünïcødé ✓", "tags": ["a", i % 3],
                                                 "nested": {"ok": i % 2 == 0}},
        })
    return links


def write_jsonl(path: Path, links: list[dict[str, Any]]) -> Path:
    path.write_text("".join(canonical(link) + "\n" for link in links), encoding="utf-8")
    return path


def summary_numbers(stderr: str) -> dict[str, int]:
    """Parse the final summary line: '... N lines read, N created, N updated, ...'."""
    line = [ln for ln in stderr.splitlines() if "lines read" in ln][-1]
    numbers: dict[str, int] = {}
    for part in line.split(":", 2)[-1].split(","):
        words = part.split()
        if len(words) >= 2 and words[0].isdigit():
            numbers[words[1] if words[1] != "lines" else "read"] = int(words[0])
    return numbers


def count_links(cli: Cli, link_class: str) -> int:
    result = cli.ok("link", "list", "--filters", json.dumps([["link_class", "=", link_class]]),
                    "--limit", "0")
    return int(result.json()["items_available"])


@pytest.fixture(scope="module")
def heads(cli: Cli) -> list[str]:
    """Real objects for links to point at: two projects and a collection."""
    projects = [cli.ok("-s", "group", "create", "--group", json.dumps(
        {"group_class": "project", "name": f"bulk target {i}"})).stdout.strip() for i in range(2)]
    collection = cli.ok("-s", "collection", "create", "--collection", json.dumps(
        {"name": "bulk.pdf", "owner_uuid": projects[0]})).stdout.strip()
    return [*projects, collection]


def test_import_then_export_round_trip_10k(cli: Cli, heads: list[str], tmp_path: Path) -> None:
    classes = ["star", "tag", "relation", "bulk-note"]
    links = make_links(10_000, seed=1, classes=classes, heads=heads)
    source = write_jsonl(tmp_path / "links.jsonl", links)
    started = time.monotonic()
    result = cli.ok("import", str(source))
    elapsed = time.monotonic() - started
    numbers = summary_numbers(result.stderr)
    assert numbers == {"read": 10_000, "created": 10_000, "updated": 0, "skipped": 0,
                       "rejected": 0}, result.stderr
    assert result.stdout == ""
    # not a terminal: no progress bar, only "linkbase: ..." lines
    assert all(ln.startswith("linkbase: ") for ln in result.stderr.splitlines()), result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr

    exported = cli.ok("export", "--filters", json.dumps([["link_class", "in", classes]]))
    lines = exported.stdout.splitlines()
    assert len(lines) == 10_000
    records = [json.loads(line) for line in lines]
    assert all(set(r) == EXPORTED_FIELDS for r in records)
    # sorted keys, compact: the line is its own canonical form
    assert all(line == json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
               for line, r in zip(lines, records, strict=True))
    # oldest first, uuid as tie-breaker: the keyset order
    keys = [(r["created_at"], r["uuid"]) for r in records]
    assert keys == sorted(keys)
    assert sorted(canonical(r) for r in records) == sorted(source.read_text().splitlines())
    assert "exported 10000 links" in exported.stderr
    print(f"imported 10k links in {elapsed:.1f}s")


def test_export_to_file_includes_everything_readable(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    result = cli.ok("export", "-o", str(out))
    assert result.stdout == ""
    total = cli.ok("link", "list", "--limit", "0").json()["items_available"]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == total
    assert len({json.loads(line)["uuid"] for line in lines}) == total


def test_reimport_of_an_export_skips_everything(cli: Cli, heads: list[str],
                                                tmp_path: Path) -> None:
    links = make_links(300, seed=2, classes=["reimport"], heads=heads)
    cli.ok("import", str(write_jsonl(tmp_path / "a.jsonl", links)))
    exported = cli.ok("export", "--filters", '[["link_class", "=", "reimport"]]')
    again = cli.ok("import", "-", input=exported.stdout)
    assert summary_numbers(again.stderr) == {"read": 300, "created": 0, "updated": 0,
                                             "skipped": 300, "rejected": 0}
    assert count_links(cli, "reimport") == 300


def test_resume_after_importing_a_prefix(cli: Cli, heads: list[str], tmp_path: Path) -> None:
    links = make_links(2_500, seed=3, classes=["resume-prefix"], heads=heads)
    write_jsonl(tmp_path / "prefix.jsonl", links[:1_000])
    full = write_jsonl(tmp_path / "full.jsonl", links)
    cli.ok("import", str(tmp_path / "prefix.jsonl"), "--batch-size", "300")
    result = cli.ok("import", str(full), "--batch-size", "300")
    assert summary_numbers(result.stderr) == {"read": 2_500, "created": 1_500, "updated": 0,
                                              "skipped": 1_000, "rejected": 0}
    exported = cli.ok("export", "--filters", '[["link_class", "=", "resume-prefix"]]')
    assert sorted(canonical(json.loads(x)) for x in exported.stdout.splitlines()) == sorted(
        full.read_text().splitlines())


def test_resume_after_the_import_process_is_killed(cli: Cli, heads: list[str],
                                                   tmp_path: Path) -> None:
    links = make_links(4_000, seed=4, classes=["resume-kill"], heads=heads)
    source = write_jsonl(tmp_path / "kill.jsonl", links)
    assert cli.server is not None
    process = subprocess.Popen(
        [*linkbase_command(), "import", str(source), "--batch-size", "25"],
        env=cli.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cli.home)
    written = 0
    with cli.server.client() as http:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            response = http.get("/arvados/v1/links", params={
                "filters": '[["link_class","=","resume-kill"]]', "limit": "0"})
            written = int(response.json()["items_available"])
            if written >= 100:
                break
            time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    if process.stderr is not None:
        process.stderr.close()
    partial = count_links(cli, "resume-kill")
    assert partial < 4_000, "the import finished before it could be interrupted"
    result = cli.ok("import", str(source), "--batch-size", "500")
    numbers = summary_numbers(result.stderr)
    assert numbers["created"] + numbers["skipped"] == 4_000
    assert numbers["skipped"] == partial
    exported = cli.ok("export", "--filters", '[["link_class", "=", "resume-kill"]]')
    uuids = [json.loads(x)["uuid"] for x in exported.stdout.splitlines()]
    assert len(uuids) == len(set(uuids)) == 4_000


def test_rejected_lines_are_reported_and_the_rest_imported(cli: Cli, heads: list[str],
                                                           tmp_path: Path) -> None:
    good = make_links(4, seed=5, classes=["reject-mix"], heads=heads)
    lines = [
        canonical(good[0]),                                         # 1 ok
        '{"link_class": "reject-mix", "name": ',                    # 2 bad JSON
        canonical(good[1]),                                         # 3 ok
        json.dumps({**good[2], "bogus_attribute": 1}),              # 4 unknown attribute
        "[1, 2, 3]",                                                # 5 not an object
        "",                                                         # blank: ignored
        canonical(good[3]),                                         # 7 ok
        json.dumps({**good[0], "uuid": "zzzzz-tpzed-0123456789abcde"}),  # 8 wrong infix
    ]
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = cli("import", str(source))
    assert result.returncode == 1, str(result)
    assert "Traceback" not in result.stderr
    for number in (2, 4, 5, 8):
        assert f"linkbase: line {number}: " in result.stderr, result.stderr
    for number in (1, 3, 7):
        assert f"line {number}:" not in result.stderr
    assert summary_numbers(result.stderr) == {"read": 7, "created": 3, "updated": 0,
                                              "skipped": 0, "rejected": 4}
    assert count_links(cli, "reject-mix") == 3


def test_server_computed_fields_pass_and_unparseable_lines_are_rejected(
        cli: Cli, heads: list[str], tmp_path: Path) -> None:
    """Lines go to the server byte for byte (what it ignores stays ignored; ``id``, which it
    would refuse, is dropped first); a line the server could not parse is rejected here."""
    good = make_links(3, seed=11, classes=["computed"], heads=heads)
    lines = [
        json.dumps({**good[0], "created_at": "2020-01-01T00:00:00.000000000Z", "etag": "x",
                    "kind": "arvados#link", "href": "/links/x", "modified_at": None}).encode(),
        json.dumps({**good[1], "id": 42}).encode(),                  # 2 re-encoded without id
        b'{"link_class": "computed", "properties": {"x": NaN}}',     # 3 not JSON (NaN)
        b'{"link_class": "computed", "name": "\xff\xfe"}',         # 4 not UTF-8
        canonical(good[2]).encode(),                                 # 5
    ]
    source = tmp_path / "computed.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    result = cli("import", str(source))
    assert result.returncode == 1, str(result)
    assert "Traceback" not in result.stderr
    assert "line 3: invalid JSON" in result.stderr
    assert "line 4: invalid JSON: str is not valid UTF-8" in result.stderr
    assert summary_numbers(result.stderr) == {"read": 5, "created": 3, "updated": 0,
                                              "skipped": 0, "rejected": 2}
    for link in good:
        stored = cli.ok("link", "get", "--uuid", link["uuid"]).json()
        assert canonical(stored) == canonical(link)
        assert stored["etag"] != "x"


def test_strict_stops_and_writes_nothing_of_the_bad_batch(cli: Cli, heads: list[str],
                                                         tmp_path: Path) -> None:
    links = make_links(6, seed=6, classes=["strict"], heads=heads)
    lines = [canonical(x) for x in links]
    lines[4] = json.dumps({**links[4], "bogus_attribute": True})
    source = tmp_path / "strict.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = cli("import", str(source), "--strict", "--batch-size", "3")
    assert result.returncode == 1, str(result)
    assert "line 5: " in result.stderr and "--strict" in result.stderr
    assert "Traceback" not in result.stderr
    # the first batch (lines 1-3) was written; the second (4-6) was not, not even lines 4 and 6
    assert count_links(cli, "strict") == 3
    local = tmp_path / "strict-json.jsonl"
    local.write_text(canonical(make_links(1, seed=7, classes=["strict2"], heads=heads)[0])
                     + "\nnot json\n")
    result = cli("import", str(local), "--strict")
    assert result.returncode == 1 and "line 2: invalid JSON" in result.stderr
    assert count_links(cli, "strict2") == 0


def test_on_duplicate_policies(cli: Cli, heads: list[str], tmp_path: Path) -> None:
    links = make_links(5, seed=8, classes=["dup"], heads=heads)
    cli.ok("import", str(write_jsonl(tmp_path / "d1.jsonl", links)))
    changed = [{**x, "properties": {"version": 2}} for x in links]
    source = write_jsonl(tmp_path / "d2.jsonl", changed)
    ignored = cli.ok("import", str(source))
    assert summary_numbers(ignored.stderr)["skipped"] == 5
    assert cli.ok("link", "get", "--uuid", links[1]["uuid"]).json()["properties"] \
        == links[1]["properties"]
    updated = cli.ok("import", str(source), "--on-duplicate", "update")
    assert summary_numbers(updated.stderr)["updated"] == 5
    assert cli.ok("link", "get", "--uuid", links[1]["uuid"]).json()["properties"] \
        == {"version": 2}
    refused = cli("import", str(source), "--on_duplicate", "error")
    assert refused.returncode == 1
    assert refused.stderr.count("already exists") == 5
    assert count_links(cli, "dup") == 5


def test_lines_without_uuid_are_created(cli: Cli, heads: list[str]) -> None:
    body = "".join(json.dumps({"link_class": "no-uuid", "name": f"n{i}", "head_uuid": heads[0]})
                   + "\n" for i in range(3))
    result = cli.ok("import", "-", input=body)
    assert summary_numbers(result.stderr)["created"] == 3
    assert count_links(cli, "no-uuid") == 3


def test_import_as_a_regular_user(cli: Cli, tmp_path: Path) -> None:
    user = cli.ok("user", "create", "--user", '{"email": "importer@example.org"}').json()
    token = cli.ok("api_client_authorization", "create", "--api-client-authorization",
                   json.dumps({"owner_uuid": user["uuid"]})).json()["api_token"]
    project = cli.ok("-s", "group", "create", "--group",
                     '{"group_class": "project", "name": "importer"}', token=token).stdout.strip()
    body = "".join(json.dumps({"link_class": "star", "owner_uuid": user["uuid"],
                               "tail_uuid": user["uuid"], "head_uuid": project,
                               "name": f"s{i}"}) + "\n" for i in range(3))
    result = cli.ok("import", "-", input=body, token=token)
    assert summary_numbers(result.stderr)["created"] == 3


def test_missing_file_is_usage_error(cli: Cli) -> None:
    result = cli("import", "/nonexistent/links.jsonl")
    assert result.returncode == 2 and "cannot read" in result.stderr


def test_export_pipes_cleanly(cli: Cli) -> None:
    command = shlex.join(linkbase_command())
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", f"{command} export | head -2"],
                          capture_output=True, text=True, env=cli.env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_progress_bar_on_a_terminal(cli: Cli, heads: list[str], tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "tty.jsonl",
                         make_links(600, seed=9, classes=["tty"], heads=heads))
    command = shlex.join([*linkbase_command(), "import", str(source), "--batch-size", "100"])
    env = {**cli.env(), "TERM": "xterm", "COLUMNS": "120"}
    proc = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                          text=True, env=env, timeout=300, cwd=cli.home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "600/600" in proc.stdout  # count (rich's M/N column) on the terminal
    assert "/s" in proc.stdout  # rate
    assert "600 created" in proc.stdout
    assert count_links(cli, "tty") == 600


def test_health_is_not_touched(cli: Cli) -> None:
    assert cli.server is not None
    assert httpx.get(f"{cli.server.url}/_health/ping").json() == {"health": "OK"}
    assert os.environ.get("LINKBASE_URL") is None


def test_parallel_import_with_grants_keeps_the_closure_exact(cli: Cli, heads: list[str],
                                                             tmp_path: Path) -> None:
    """50k mixed links, 2% of them grants, imported 4 batches at a time: no line lost, no
    grant duplicated, and the permission closure equals a full recompute afterwards."""
    assert cli.server is not None
    roles = [cli.ok("-s", "group", "create", "--group", json.dumps(
        {"group_class": "role", "name": f"parallel role {i}"})).stdout.strip() for i in range(8)]
    users = [cli.ok("-s", "user", "create", "--user", json.dumps(
        {"username": f"parallel{i}"})).stdout.strip() for i in range(8)]
    rng = random.Random(909)  # no other test of the module draws uuids from this seed
    pairs = [(t, h) for t in users + roles for h in roles + heads if t != h]
    grants = [{"uuid": "zzzzz-o0j2j-" + "".join(rng.choice(_ALPHABET) for _ in range(15)),
               "link_class": "permission", "name": rng.choice(["can_read", "can_write",
                                                               "can_manage"]),
               "tail_uuid": tail, "head_uuid": head}
              for tail, head in rng.sample(pairs, min(1000, len(pairs)))]
    ordinary = make_links(50_000 - len(grants), seed=50, classes=["tag", "parallel-note"],
                          heads=heads)
    mixed = ordinary[:]
    for grant in grants:
        mixed.insert(rng.randrange(len(mixed) + 1), grant)
    source = tmp_path / "mixed.jsonl"
    source.write_text("".join(json.dumps(link) + "\n" for link in mixed), encoding="utf-8")
    result = cli.ok("import", "--parallel", "4", "--batch-size", "2500", str(source))
    assert summary_numbers(result.stderr) == {
        "read": len(mixed), "created": len(mixed), "updated": 0, "skipped": 0, "rejected": 0}
    stored = {r["uuid"]: r for r in (json.loads(line) for line in cli.ok(
        "export", "--filters", json.dumps([["link_class", "=", "permission"],
                                           ["tail_uuid", "in", users + roles]])
    ).stdout.splitlines())}
    assert {g["uuid"] for g in grants} <= set(stored)
    assert len({(r["tail_uuid"], r["head_uuid"]) for r in stored.values()
                if r["head_uuid"] in roles + heads}) == len(
        [r for r in stored.values() if r["head_uuid"] in roles + heads])
    assert count_links(cli, "parallel-note") == sum(
        1 for link in ordinary if link["link_class"] == "parallel-note")
    verified = cli.ok("verify", "--database", cli.server.database_url)
    assert verified.stdout.strip().endswith("ok"), verified.stdout
    assert "duplicate grants" not in verified.stdout


def test_default_batches_start_small_and_grow_to_the_ceiling() -> None:
    from itertools import islice

    from linkbase.cli.bulk import DEFAULT_BATCH_SIZE, GROWN_BATCH_SIZE, batch_sizes

    assert DEFAULT_BATCH_SIZE == 10_000 and GROWN_BATCH_SIZE == 50_000
    assert list(islice(batch_sizes(None), 9)) == [
        10_000, 10_000, 20_000, 20_000, 40_000, 40_000, 50_000, 50_000, 50_000]
    assert list(islice(batch_sizes(7), 5)) == [7] * 5  # a chosen size stays as chosen
