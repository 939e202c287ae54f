"""Health, metrics and request logs."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.api.observability import configure_logging, face_of
from linkbase.settings import Settings


@pytest.mark.parametrize(
    ("path", "face"),
    [("/arvados/v1/links", "arvados"), ("/discovery/v1/apis/arvados/v1/rest", "arvados"),
     ("/v2/Repositories", "laserfiche"), ("/LFRepositoryAPI/v2/Repositories", "laserfiche"),
     ("/linkbase/v1/links/batch", "native"), ("/_health/ping", "other")],
)
def test_face_labels(path: str, face: str) -> None:
    assert face_of(path) == face


def test_health_metrics_and_json_request_log(database_url: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    app = create_app(Settings(database_url=database_url, system_root_token="obs-root",
                              log_requests=True))
    with TestClient(app) as client:
        assert client.get("/_health/ping", headers={"Authorization": "Bearer wrong"}).json() \
            == {"health": "OK"}
        denied = client.get("/arvados/v1/links", headers={"X-Request-Id": "req-observe1"})
        assert denied.status_code == 401
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert 'linkbase_http_requests_total{face="arvados",method="GET",status="401"}' \
            in metrics.text
        assert "linkbase_http_request_seconds_bucket" in metrics.text
    app.state.services.db.dispose()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
             if line.startswith("{")]
    logged = [line for line in lines if line.get("request_id") == "req-observe1"]
    assert logged and logged[0]["status"] == 401 and logged[0]["path"] == "/arvados/v1/links"
    assert logged[0]["event"] == "request" and logged[0]["method"] == "GET"


def test_every_face_is_counted_logged_and_carries_the_request_id(
        database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The Arvados and Laserfiche faces answer from innermost middleware, ahead of the router:
    # their answers still pass through the request id, metrics and log layers.
    configure_logging()
    app = create_app(Settings(database_url=database_url, system_root_token="obs-root",
                              log_requests=True))
    root = {"Authorization": "Bearer obs-root"}
    lf_ok = 'linkbase_http_requests_total{face="laserfiche",method="GET",status="200"}'

    def counted(text: str) -> float:  # the counters are the process's, shared by every test
        found = [line for line in text.splitlines() if line.startswith(lf_ok + " ")]
        return float(found[0].split()[-1]) if found else 0.0

    with TestClient(app) as client:
        before = counted(client.get("/metrics").text)
        answers = {
            "arvados": client.get("/arvados/v1/links?limit=1",
                                  headers={**root, "X-Request-Id": "req-face-arvados"}),
            "laserfiche": client.get("/v2/Repositories/r-default/Entries/1/Links",
                                     headers={**root, "X-Request-Id": "req-face-lf"}),
            "laserfiche-prefixed": client.get(
                "/LFRepositoryAPI/v2/Repositories/r-default/Entries/1/Links",
                headers={**root, "X-Request-Id": "req-face-lf2"}),
        }
        for name, answer in answers.items():
            assert answer.status_code == 200, (name, answer.text)
        assert answers["arvados"].headers["x-request-id"] == "req-face-arvados"
        assert answers["arvados"].headers["access-control-allow-origin"] == "*"
        assert answers["laserfiche"].headers["x-request-id"] == "req-face-lf"
        assert answers["laserfiche"].json()["value"] == []
        assert answers["laserfiche-prefixed"].headers["x-request-id"] == "req-face-lf2"
        metrics = client.get("/metrics").text
        assert counted(metrics) == before + 2
        assert 'linkbase_http_requests_total{face="arvados",method="GET",status="200"}' in metrics
        wrong_method = client.post("/v2/Repositories/r-default/Entries/1/Links", headers=root)
        assert wrong_method.status_code == 405  # the face's fallback, through the router
        assert wrong_method.headers["content-type"].startswith("application/problem+json")
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines()
              if line.startswith("{")]
    ids = {entry.get("request_id") for entry in logged if entry.get("event") == "request"}
    assert {"req-face-arvados", "req-face-lf", "req-face-lf2"} <= ids
    app.state.services.db.dispose()
