"""The websocket event bus's message protocol, in process (both backends): status replies,
replay from ``last_log_id`` (exclusive), filters, unsubscribe, refusals, and visibility at
delivery time. The real SDK over ``wss://`` is in ``test_events.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from tests.api.arvados.conftest import ALL_USERS, ROOT_TOKEN, Api


def _ws(api: Api, token: str) -> Any:
    client = api.client
    return client.websocket_connect(f"/websocket?api_token={token}")  # type: ignore[union-attr]


def _recv(ws: WebSocketTestSession) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.receive_text())
    return message


def test_subscribe_replays_after_last_log_id_then_streams(api: Api) -> None:
    first = api.link(link_class="tag", name="a", head_uuid=ALL_USERS)
    entries = api.ok("GET", "logs", params={
        "filters": json.dumps([["object_uuid", "=", first["uuid"]]])})["items"]
    start = entries[0]["id"]
    with _ws(api, ROOT_TOKEN) as ws:
        ws.send_text(json.dumps({"method": "subscribe", "last_log_id": start - 1,
                                 "filters": [["event_type", "in", ["create", "update"]]]}))
        assert _recv(ws) == {"status": 200}
        replayed = _recv(ws)
        assert replayed["id"] == start and replayed["object_uuid"] == first["uuid"]
        assert replayed["kind"] == "arvados#log" and replayed["event_type"] == "create"
        assert replayed["properties"]["new_attributes"]["name"] == "a"
        assert replayed["object_kind"] == "arvados#link" and replayed["msgID"] == 1
        api.ok("PUT", f"links/{first['uuid']}", json={"link": {"name": "b"}})
        api.ok("DELETE", f"links/{first['uuid']}")  # filtered out
        second = api.link(link_class="tag", name="c", head_uuid=ALL_USERS)
        update = _recv(ws)
        assert (update["event_type"], update["object_uuid"]) == ("update", first["uuid"])
        create = _recv(ws)
        assert (create["event_type"], create["object_uuid"]) == ("create", second["uuid"])
        assert update["id"] < create["id"] and create["msgID"] == 3


def test_without_last_log_id_only_new_entries_come(api: Api) -> None:
    api.link(link_class="tag", name="old", head_uuid=ALL_USERS)
    with _ws(api, ROOT_TOKEN) as ws:
        ws.send_text(json.dumps({"method": "subscribe", "filters": []}))
        assert _recv(ws) == {"status": 200}
        new = api.link(link_class="tag", name="new", head_uuid=ALL_USERS)
        assert _recv(ws)["object_uuid"] == new["uuid"]


def test_unsubscribe_and_bad_messages(api: Api) -> None:
    with _ws(api, ROOT_TOKEN) as ws:
        ws.send_text("not json")
        assert _recv(ws)["status"] == 400
        ws.send_text(json.dumps([1, 2]))
        assert _recv(ws)["status"] == 400
        ws.send_text(json.dumps({"method": "publish"}))
        assert _recv(ws)["status"] == 400
        ws.send_text(json.dumps({"method": "subscribe", "filters": [["nope", "=", "x"]]}))
        reply = _recv(ws)
        assert reply["status"] == 400 and "nope" in reply["error"]
        ws.send_text(json.dumps({"method": "subscribe", "filters": [], "last_log_id": "7"}))
        assert _recv(ws)["status"] == 400
        filters = [["event_type", "=", "create"]]
        ws.send_text(json.dumps({"method": "subscribe", "filters": filters}))
        assert _recv(ws) == {"status": 200}
        ws.send_text(json.dumps({"method": "unsubscribe", "filters": filters}))
        assert _recv(ws) == {"status": 200}
        ws.send_text(json.dumps({"method": "unsubscribe", "filters": filters}))
        assert _recv(ws)["status"] == 404
        # Nothing is subscribed: a new link sends nothing; the next reply is the next status.
        api.link(link_class="tag", name="quiet", head_uuid=ALL_USERS)
        ws.send_text(json.dumps({"method": "subscribe", "filters": [["id", "<", 0]]}))
        assert _recv(ws) == {"status": 200}


def test_a_bad_token_is_refused_at_the_handshake(api: Api) -> None:
    with pytest.raises(WebSocketDisconnect), _ws(api, "nope") as ws:
        ws.receive_text()


def test_only_readable_entries_are_delivered(api: Api) -> None:
    _alice, alice_tok = api.new_user()
    bob, bob_tok = api.new_user()
    project = api.create("groups", "group", {"name": "A", "group_class": "project"},
                         token=alice_tok)
    grant = api.create("links", "link", {"link_class": "permission", "name": "can_read",
                                         "tail_uuid": bob["uuid"], "head_uuid": project["uuid"]},
                       token=alice_tok)
    with _ws(api, bob_tok.split("/")[-1]) as ws:
        ws.send_text(json.dumps({"method": "subscribe", "filters": [
            ["event_type", "in", ["create", "update", "delete"]]]}))
        assert _recv(ws) == {"status": 200}
        shared = api.create("collections", "collection",
                            {"name": "shared", "owner_uuid": project["uuid"]}, token=alice_tok)
        assert _recv(ws)["object_uuid"] == shared["uuid"]
        api.ok("DELETE", f"links/{grant['uuid']}", token=alice_tok)
        api.ok("PUT", f"collections/{shared['uuid']}",
               json={"collection": {"name": "hidden now"}}, token=alice_tok)
        private = api.create("collections", "collection", {"name": "private"}, token=alice_tok)
        mine = api.create("collections", "collection", {"name": "bob's"}, token=bob_tok)
        # The next thing Bob hears of is his own collection: not the revoked grant's delete,
        # not the update he may no longer read, not Alice's private collection.
        event = _recv(ws)
        assert event["object_uuid"] == mine["uuid"], (event, private["uuid"])
