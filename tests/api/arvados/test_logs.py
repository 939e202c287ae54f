"""``/arvados/v1/logs``: every write logged in its transaction, Arvados's attributes and list
machinery, and who may read which entry (both backends)."""

from __future__ import annotations

from typing import Any

from tests.api.arvados.conftest import (
    ALL_USERS,
    ROOT_TOKEN,
    SYSTEM_USER,
    TIMESTAMP_RE,
    Api,
    assert_error,
    table_snapshot,
)


def _logs(api: Api, filters: list[Any], *, token: str | None = "", **params: Any
          ) -> list[dict[str, Any]]:
    import json

    body = api.ok("GET", "logs", params={"filters": json.dumps(filters), "order": "id asc",
                                         **params}, token=token)
    assert body["kind"] == "arvados#logList"
    return list(body["items"])


def _of(api: Api, uuid: str, *, token: str | None = "") -> list[dict[str, Any]]:
    return _logs(api, [["object_uuid", "=", uuid]], token=token)


def test_create_update_delete_of_a_link_are_logged_with_attributes(api: Api) -> None:
    user, _ = api.new_user()
    link = api.link(link_class="tag", name="draft", head_uuid=user["uuid"],
                    properties={"k": "v"})
    api.ok("PUT", f"links/{link['uuid']}", json={"link": {"name": "final"}},
           headers={"X-Request-Id": "req-audit-1"})
    api.ok("DELETE", f"links/{link['uuid']}")
    entries = _of(api, link["uuid"])
    assert [e["event_type"] for e in entries] == ["create", "update", "delete"]
    create, update, delete = entries
    assert create["kind"] == "arvados#log"
    assert create["uuid"] == f"zzzzz-57u5n-{create['id']:015d}"
    assert create["object_kind"] == "arvados#link"
    assert create["object_owner_uuid"] == SYSTEM_USER
    assert create["owner_uuid"] == SYSTEM_USER
    assert create["modified_by_user_uuid"] == SYSTEM_USER
    assert TIMESTAMP_RE.match(create["event_at"]) and create["created_at"] == create["event_at"]
    assert create["summary"] == f"create of {link['uuid']}"
    assert create["properties"]["old_attributes"] is None
    new = create["properties"]["new_attributes"]
    assert new["uuid"] == link["uuid"] and new["name"] == "draft"
    assert new["properties"] == {"k": "v"} and TIMESTAMP_RE.match(new["created_at"])
    assert "id" not in new
    assert update["properties"]["old_attributes"]["name"] == "draft"
    assert update["properties"]["new_attributes"]["name"] == "final"
    assert update["request_id"] == "req-audit-1"
    assert delete["properties"]["new_attributes"] is None
    assert delete["properties"]["old_attributes"]["name"] == "final"
    assert create["id"] < update["id"] < delete["id"]
    # get by uuid
    got = api.ok("GET", f"logs/{update['uuid']}")
    assert got["id"] == update["id"] and got["event_type"] == "update"


def test_cascades_are_logged_and_secrets_never_are(api: Api) -> None:
    project = api.create("groups", "group", {"name": "P", "group_class": "project"})
    coll = api.create("collections", "collection", {"name": "c", "owner_uuid": project["uuid"]})
    star = api.link(link_class="star", head_uuid=coll["uuid"], tail_uuid=SYSTEM_USER)
    api.ok("DELETE", f"groups/{project['uuid']}")
    for uuid in (coll["uuid"], star["uuid"]):
        assert [e["event_type"] for e in _of(api, uuid)] == ["create", "delete"]
    user, _ = api.new_user()
    token = api.create("api_client_authorizations", "api_client_authorization",
                       {"owner_uuid": user["uuid"]})
    entries = _of(api, token["uuid"])
    assert [e["event_type"] for e in entries] == ["create"]
    text = str(entries)
    assert token["api_token"] not in text and "token_digest" not in text
    assert "password_hash" not in str(_of(api, user["uuid"]))


def test_id_filters_as_strings_and_numbers_order_and_count(api: Api) -> None:
    links = [api.link(link_class="tag", name=f"t{i}", head_uuid=ALL_USERS) for i in range(3)]
    first = _of(api, links[0]["uuid"])[0]["id"]
    after = _logs(api, [["id", ">", str(first)], ["event_type", "=", "create"]])
    assert [e["object_uuid"] for e in after] == [links[1]["uuid"], links[2]["uuid"]]
    assert _logs(api, [["id", ">", first]]) == after
    assert [e["id"] for e in _logs(api, [["id", "in", [first, str(first + 1)]]])] == [
        first, first + 1]
    body = api.ok("GET", "logs", params={"order": "id desc", "limit": "1",
                                         "filters": '[["event_type","=","create"]]'})
    assert body["items"][0]["object_uuid"] == links[2]["uuid"]
    assert body["items_available"] >= 3
    for bad in ('[["id", ">", "x1"]]', '[["id", ">", true]]', '[["id", "like", "1"]]',
                '[["id", ">", "99999999999999999999"]]', '[["nope", "=", 1]]'):
        assert_error(api.call("GET", "logs", params={"filters": bad}), 422)
    assert_error(api.call("GET", "logs/zzzzz-57u5n-000000000099999"), 404)
    assert_error(api.call("GET", "logs/not-a-uuid"), 404)


def test_visibility_follows_the_object(api: Api) -> None:
    _alice, alice_tok = api.new_user()
    bob, bob_tok = api.new_user()
    # Alice's own project and collection: hers to read, not Bob's.
    project = api.create("groups", "group", {"name": "A", "group_class": "project"},
                         token=alice_tok)
    coll = api.create("collections", "collection", {"name": "c", "owner_uuid": project["uuid"]},
                      token=alice_tok)
    assert [e["event_type"] for e in _of(api, coll["uuid"], token=alice_tok)] == ["create"]
    assert _of(api, coll["uuid"], token=bob_tok) == []
    # A grant to Bob makes the history readable; revoking it hides it again.
    grant = api.create("links", "link", {"link_class": "permission", "name": "can_read",
                                         "tail_uuid": bob["uuid"], "head_uuid": project["uuid"]},
                       token=alice_tok)
    assert len(_of(api, coll["uuid"], token=bob_tok)) == 1
    entry = _of(api, coll["uuid"], token=bob_tok)[0]
    assert api.ok("GET", f"logs/{entry['uuid']}", token=bob_tok)["id"] == entry["id"]
    api.ok("DELETE", f"links/{grant['uuid']}", token=alice_tok)
    assert _of(api, coll["uuid"], token=bob_tok) == []
    assert_error(api.call("GET", f"logs/{entry['uuid']}", token=bob_tok), 404)
    # Once deleted: readable by whoever could read it where it was (Alice), not Bob.
    api.ok("DELETE", f"collections/{coll['uuid']}", token=alice_tok)
    assert [e["event_type"] for e in _of(api, coll["uuid"], token=alice_tok)] == [
        "create", "delete"]
    assert _of(api, coll["uuid"], token=bob_tok) == []


def test_a_deleted_objects_own_grants_do_not_count(api: Api) -> None:
    _alice, alice_tok = api.new_user()
    bob, bob_tok = api.new_user()
    coll = api.create("collections", "collection", {"name": "shared"}, token=alice_tok)
    api.create("links", "link", {"link_class": "permission", "name": "can_read",
                                 "tail_uuid": bob["uuid"], "head_uuid": coll["uuid"]},
               token=alice_tok)
    assert len(_of(api, coll["uuid"], token=bob_tok)) == 1  # readable through the grant
    api.ok("DELETE", f"collections/{coll['uuid']}", token=alice_tok)
    assert _of(api, coll["uuid"], token=bob_tok) == []  # the grant died with it
    assert len(_of(api, coll["uuid"], token=alice_tok)) == 2


def test_reading_a_user_does_not_reveal_its_private_history(api: Api) -> None:
    alice, alice_tok = api.new_user()
    _bob, bob_tok = api.new_user()
    coll = api.create("collections", "collection", {"name": "private"}, token=alice_tok)
    api.ok("DELETE", f"collections/{coll['uuid']}", token=alice_tok)
    # Bob can read Alice's user record (both in All users) ...
    assert api.ok("GET", f"users/{alice['uuid']}", token=bob_tok)["uuid"] == alice["uuid"]
    # ... but none of her private objects' history, and her record's private parts are hidden.
    assert _of(api, coll["uuid"], token=bob_tok) == []
    user_entries = _of(api, alice["uuid"], token=bob_tok)
    assert user_entries, "the user record's own history is readable"
    for entry in user_entries:
        attrs = entry["properties"]["new_attributes"] or {}
        assert "prefs" not in attrs and "created_at" not in attrs
    mine = _of(api, alice["uuid"], token=alice_tok)
    assert "prefs" in (mine[0]["properties"]["new_attributes"] or {})
    # Bob sees nothing of Alice's tokens either.
    tok = api.create("api_client_authorizations", "api_client_authorization",
                     {"owner_uuid": alice["uuid"]})
    assert _of(api, tok["uuid"], token=bob_tok) == []
    assert len(_of(api, tok["uuid"], token=alice_tok)) == 1


def test_logs_are_read_only_for_non_admins(api: Api) -> None:
    _user, tok = api.new_user()
    coll = api.create("collections", "collection", {"name": "mine"}, token=tok)
    entry = _of(api, coll["uuid"], token=tok)[0]
    before = table_snapshot_of(api)
    assert_error(api.call("POST", "logs", json={"log": {"object_uuid": coll["uuid"]}},
                          token=tok), 403)
    assert_error(api.call("PUT", f"logs/{entry['uuid']}", json={"log": {}}, token=tok), 403)
    assert_error(api.call("DELETE", f"logs/{entry['uuid']}", token=tok), 403)
    assert table_snapshot_of(api) == before
    assert_error(api.call("POST", "logs", json={"log": {}}, token=ROOT_TOKEN), 403)
    deleted = api.ok("DELETE", f"logs/{entry['uuid']}", token=ROOT_TOKEN)
    assert deleted["id"] == entry["id"]
    assert_error(api.call("GET", f"logs/{entry['uuid']}"), 404)


def table_snapshot_of(api: Api) -> Any:
    app = api.client.app  # type: ignore[union-attr]
    return table_snapshot(app)


def test_refused_writes_leave_no_log(api: Api) -> None:
    user, tok = api.new_user()
    before = table_snapshot_of(api)
    assert_error(api.call("POST", "links", json={"link": {
        "link_class": "permission", "name": "can_read", "tail_uuid": user["uuid"],
        "head_uuid": SYSTEM_USER}}, token=tok), 422)
    assert table_snapshot_of(api) == before


def test_discovery_document_declares_logs_and_the_websocket(api: Api) -> None:
    doc = api.ok("GET", "/discovery/v1/apis/arvados/v1/rest", token=None)
    assert doc["websocketUrl"] == "ws://testserver/websocket"
    assert set(doc["resources"]["logs"]["methods"]) == {"list", "get", "delete"}
    assert doc["schemas"]["Log"]["properties"]["id"] == {"type": "integer"}
