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
