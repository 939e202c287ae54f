"""The browser UI is served from packaged assets and drives the Arvados face."""

from __future__ import annotations

from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.settings import Settings


def test_ui_page_is_served_without_external_assets(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, system_root_token="ui-token"))
    with TestClient(app) as client:
        root = client.get("/", follow_redirects=False)
        assert root.status_code == 307
        assert root.headers["location"] == "/ui/"
        page = client.get("/ui/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        html = page.text
        assert "/arvados/v1/" in html and "users/current" in html
        assert "http://" not in html and "https://" not in html  # offline: no CDN
    app.state.services.db.dispose()
