"""Laserfiche request bodies read like Json.NET (issue 11, item 14), over raw HTTP on both
backends: trailing commas and case-insensitive property names are accepted, nothing else is, and
the Arvados face stays strict."""

from __future__ import annotations

import pytest

from linkbase.api.laserfiche import bodies
from linkbase.domain.errors import InvalidArgumentError
from tests.api.laserfiche.conftest import ADMIN, LF, V2, assert_problem

JSON = {**ADMIN, "Content-Type": "application/json"}

#: The "Assign Links (V2)" guide's example body, verbatim but for the entry id: a trailing
#: comma after the last custom property.
GUIDE_BODY = """{
  "links": [
    {
      "linkDefinitionId": 1,
      "otherEntryId": %d,
      "isSource": true,
      "customProperties": {
        "custom_property_1": "value of custom property 1",
        "custom_property_2": "value of custom property 2",
        "custom_property_3": "value of custom property 3",
      }
    }
  ]
}"""


def _two_documents(lf: LF) -> tuple[int, int]:
    folder = lf.folder(1, "Mail")
    return lf.document(folder["id"], "email")["id"], lf.document(folder["id"], "attachment")["id"]


def test_the_guide_example_works_verbatim(lf: LF) -> None:
    email, attachment = _two_documents(lf)
    response = lf.client.put(f"{V2}/Entries/{email}/Links", headers=JSON,
                             content=GUIDE_BODY % attachment)
    assert response.status_code == 200, response.text
    [link] = response.json()["value"]
    assert (link["sourceId"], link["targetId"], link["linkDefinitionId"]) == (email, attachment, 1)
    assert link["customProperties"] == {f"custom_property_{i}": f"value of custom property {i}"
                                        for i in (1, 2, 3)}


def test_trailing_commas_everywhere_and_any_name_case(lf: LF) -> None:
    email, attachment = _two_documents(lf)
    body = ('{"Links": [{"LinkDefinitionId": 2, "OTHERENTRYID": @ID@, "IsSource": false, '
            '"CustomProperties": {"Key": "Value", "key": "value",},},],}'
            ).replace("@ID@", str(attachment))
    response = lf.client.put(f"{V2}/Entries/{email}/Links", headers=JSON, content=body)
    assert response.status_code == 200, response.text
    [link] = response.json()["value"]
    # isSource false: the entry in the path is the target.
    assert (link["sourceId"], link["targetId"], link["linkDefinitionId"]) == (attachment, email, 2)
    # Dictionary keys are data, not property names: their case is kept.
    assert link["customProperties"] == {"Key": "Value", "key": "value"}
    again = lf.get_links(email).json()["value"]
    assert [x["id"] for x in again] == [link["id"]]


def test_folder_create_and_update_bodies_are_lenient_too(lf: LF) -> None:
    made = lf.client.post(f"{V2}/Entries/1/Folder/Children", headers=JSON,
                          content='{"Name": "Lenient", "EntryType": "Folder",}')
    assert made.status_code == 201, made.text
    moved = lf.client.patch(f"{V2}/Entries/{made.json()['id']}", headers=JSON,
                            content='{"NAME": "Renamed",}')
    assert moved.status_code == 200, moved.text
    assert moved.json()["name"] == "Renamed"


@pytest.mark.parametrize("body", [
    '{"links": [,]}',                        # an element missing, not a trailing comma
    '{"links": [{"linkDefinitionId": 1,, "otherEntryId": 2}]}',
    '{,}',
    '{"links": []} // a comment',
    "{'links': []}",                          # single quotes
    '{links: []}',                            # unquoted names
    '{"links": [{"linkDefinitionId": NaN, "otherEntryId": 2}]}',
    '{"links": [{"linkDefinitionId": 1, "otherEntryId": 99999999999}]}',  # beyond int32
    '{"links": [{"linkDefinitionId": 1.0, "otherEntryId": 2}]}',
    '{"links": []}}',
    '',
])
def test_malformed_bodies_stay_400(lf: LF, body: str) -> None:
    email, _ = _two_documents(lf)
    body_problem = assert_problem(lf.client.put(f"{V2}/Entries/{email}/Links", headers=JSON,
                                                content=body), 400)
    assert body_problem["title"]


def test_the_arvados_face_stays_strict(lf: LF) -> None:
    response = lf.client.post("/arvados/v1/links", headers=JSON,
                              content='{"link": {"link_class": "tag", "name": "x",},}')
    assert response.status_code == 422
    assert response.json()["errors"][0].startswith("Malformed JSON")
    wrong_case = lf.client.post("/arvados/v1/links", headers=JSON,
                                content='{"link": {"Link_Class": "tag"}}')
    assert wrong_case.status_code == 422
    assert "unknown attribute 'Link_Class'" in wrong_case.json()["errors"][0]


def test_reader_helpers() -> None:
    assert bodies.parse(b'[1, 2,]') == [1, 2]
    assert bodies.model({"A": 1, "a": 2, "other": 3}, ("a",), "x") == {"a": 2}  # last wins
    with pytest.raises(InvalidArgumentError):
        bodies.model([1], ("a",), "x")
    assert bodies.int32(2**31 - 1, "n") == 2**31 - 1
    for bad in (2**31, True, "1", 1.5, None):
        with pytest.raises(InvalidArgumentError):
            bodies.int32(bad, "n")
    assert bodies.boolean(None, "b", default=True) is True
    with pytest.raises(InvalidArgumentError):
        bodies.boolean("true", "b")
