"""The unmodified ``arvados.events.subscribe`` against real servers over ``wss://`` (both
backends): a TLS server with two worker processes delivers what a second server process
commits, within a second, only to subscribers who may read it; the SDK resumes after a server
restart without loss or duplicates; and its polling fallback (``logs().list`` with ``id >``
filters given as strings) works when websockets are disabled.

SDK 3.2.1 always hands its websocket library a TLS context, so these run over ``wss://`` with a
self-signed certificate (``ARVADOS_API_HOST_INSECURE``, ``insecure=True``).
"""

from __future__ import annotations

import queue
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import arvados
import arvados.config
import arvados.events
import pytest

from tests.api.arvados.conftest import ROOT_TOKEN
from tests.support.databases import BACKENDS, fresh_database_url
from tests.support.server import ServerHandle, free_port, running_server
from tests.support.tls import self_signed

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The promise: an event reaches a subscriber within this many seconds of its commit.
LATENCY = 1.0


@dataclass
class Cluster:
    """A TLS server (two workers) for subscribers and a second server process for writers,
    sharing one database."""

    events: ServerHandle
    writer: ServerHandle
    tls: tuple[str, str]
    database_url: str


def sdk(server: ServerHandle, token: str) -> Any:
    """The SDK for ``server`` (https with a self-signed certificate, or plain http)."""
    return arvados.api("v1", token=token, cache=False, num_retries=3, insecure=True,
                       discoveryServiceUrl=server.url
                       + "/discovery/v1/apis/{api}/{apiVersion}/rest")


@pytest.fixture(autouse=True)
def insecure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's event client reads its TLS setting from its configuration."""
    monkeypatch.setitem(arvados.config.settings(), "ARVADOS_API_HOST_INSECURE", "true")


@pytest.fixture(scope="module", params=BACKENDS)
def cluster(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    backend = str(request.param)
    directory = tmp_path_factory.mktemp(f"events-{backend}")
    url = fresh_database_url(backend, directory)
    tls = self_signed(directory)
    with running_server(url, root_token=ROOT_TOKEN, tls=tls,
                        extra_args=("--workers", "2")) as events, \
            running_server(url, root_token=ROOT_TOKEN) as writer:
        yield Cluster(events, writer, tls, url)


def new_user(arv: Any) -> tuple[dict[str, Any], str]:
    user = arv.users().create(body={"user": {
        "email": f"ev{secrets.token_hex(4)}@example.com", "first_name": "E",
        "last_name": "V"}}).execute()
    tok = arv.api_client_authorizations().create(body={"api_client_authorization": {
        "owner_uuid": user["uuid"]}}).execute()
    return user, f"v2/{tok['uuid']}/{tok['api_token']}"


class Inbox:
    """Collects what the SDK's callback receives, with arrival times."""

    def __init__(self) -> None:
        self.messages: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()

    def __call__(self, message: dict[str, Any]) -> None:
        self.messages.put((time.monotonic(), message))

    def next(self, timeout: float = 10.0) -> tuple[float, dict[str, Any]]:
        return self.messages.get(timeout=timeout)

    def event(self, timeout: float = 10.0) -> tuple[float, dict[str, Any]]:
        """The next message that is an event (status replies skipped)."""
        while True:
            at, message = self.next(timeout)
            if "id" in message:
                return at, message

    def status(self) -> None:
        _at, message = self.next()
        assert message == {"status": 200}, message


def test_sdk_receives_link_events_over_wss_within_a_second_only_if_readable(
        cluster: Cluster) -> None:
    admin = sdk(cluster.writer, ROOT_TOKEN)
    _alice, alice_tok = new_user(admin)
    _bob, bob_tok = new_user(admin)
    writes = sdk(cluster.writer, alice_tok)  # another process than the subscriber's
    doc = sdk(cluster.events, alice_tok)._rootDesc
    assert doc["websocketUrl"].startswith("wss://127.0.0.1:")
    alice_inbox, bob_inbox = Inbox(), Inbox()
    watching = [["event_type", "in", ["create", "update", "delete"]]]
    alice_client = arvados.events.subscribe(sdk(cluster.events, alice_tok), watching,
                                            alice_inbox)
    bob_client = arvados.events.subscribe(sdk(cluster.events, bob_tok), watching, bob_inbox)
    try:
        assert isinstance(alice_client, arvados.events.EventClient)
        alice_inbox.status()
        bob_inbox.status()
        coll = writes.collections().create(body={"collection": {"name": "c"}}).execute()
        _, event = alice_inbox.event()
        assert (event["object_uuid"], event["event_type"]) == (coll["uuid"], "create")
        ids = [event["id"]]
        committed = time.monotonic()
        link = writes.links().create(body={"link": {
            "link_class": "tag", "name": "draft", "head_uuid": coll["uuid"]}}).execute()
        for step in ("create", "update", "delete"):
            if step == "update":
                committed = time.monotonic()
                writes.links().update(uuid=link["uuid"], body={"link": {"name": "final"}}
                                      ).execute()
            elif step == "delete":
                committed = time.monotonic()
                writes.links().delete(uuid=link["uuid"]).execute()
            arrived, event = alice_inbox.event()
            assert (event["object_uuid"], event["event_type"]) == (link["uuid"], step)
            assert event["object_kind"] == "arvados#link"
            assert arrived - committed < LATENCY, (step, arrived - committed)
            ids.append(event["id"])
        assert ids == sorted(ids) and len(set(ids)) == 4
        # Bob may read none of that: the first event he gets is about his own collection.
        mine = sdk(cluster.writer, bob_tok).collections().create(
            body={"collection": {"name": "bob's"}}).execute()
        _, event = bob_inbox.event()
        assert event["object_uuid"] == mine["uuid"]
        assert bob_inbox.messages.empty()
    finally:
        alice_client.close()
        bob_client.close()


def test_sdk_resumes_after_a_server_restart_without_loss_or_duplicates(
        cluster: Cluster, tmp_path: Path) -> None:
    port = free_port()
    admin = sdk(cluster.writer, ROOT_TOKEN)
    _user, tok = new_user(admin)
    writes = sdk(cluster.writer, tok)
    inbox = Inbox()
    created: list[str] = []

    def create(name: str) -> None:
        created.append(writes.collections().create(body={"collection": {"name": name}}
                                                   ).execute()["uuid"])

    with running_server(cluster.database_url, root_token=ROOT_TOKEN, tls=cluster.tls,
                        port=port) as server:
        client = arvados.events.subscribe(sdk(server, tok),
                                          [["event_type", "=", "create"]], inbox)
        inbox.status()
        create("before")
        _, first = inbox.event()
        assert first["object_uuid"] == created[0]
    try:
        # The server is gone; these commit while the client is disconnected.
        create("while-down-1")
        create("while-down-2")
        with running_server(cluster.database_url, root_token=ROOT_TOKEN, tls=cluster.tls,
                            port=port):
            try:
                create("after")
                seen = [first]
                while len(seen) < 4:
                    seen.append(inbox.event(timeout=30)[1])
                assert [e["object_uuid"] for e in seen] == created
                ids = [e["id"] for e in seen]
                assert ids == sorted(set(ids))
                time.sleep(0.5)
                assert all("id" not in m for _, m in list(inbox.messages.queue)), "duplicates"
            finally:
                client.close()  # before the server stops: no reconnection attempts after
    finally:
        client.close()


def test_polling_fallback_reads_logs_by_id(cluster: Cluster,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(arvados.config.settings(), "ARVADOS_DISABLE_WEBSOCKETS", "true")
    admin = sdk(cluster.writer, ROOT_TOKEN)
    _user, tok = new_user(admin)
    _bob, bob_tok = new_user(admin)
    inbox = Inbox()
    client = arvados.events.subscribe(sdk(cluster.events, tok), [["event_type", "=", "create"]],
                                      inbox, poll_fallback=0.2)
    try:
        assert isinstance(client, arvados.events.PollClient)
        inbox.status()
        time.sleep(0.5)  # the first poll finds where the log ends
        writes = sdk(cluster.writer, tok)
        first = writes.collections().create(body={"collection": {"name": "p1"}}).execute()
        hidden = sdk(cluster.writer, bob_tok).collections().create(
            body={"collection": {"name": "bob's"}}).execute()
        second = writes.collections().create(body={"collection": {"name": "p2"}}).execute()
        got = [inbox.event(timeout=10)[1]["object_uuid"] for _ in range(2)]
        assert got == [first["uuid"], second["uuid"]]
        assert hidden["uuid"] not in got
    finally:
        client.close()
