"""The workbench is served from packaged assets (no CDN) and reaches the server's own APIs."""

from __future__ import annotations

import re
from importlib import resources

from fastapi.testclient import TestClient

from linkbase.api.app import create_app
from linkbase.settings import Settings


def test_ui_page_and_its_modules_are_served_without_external_assets(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, system_root_token="ui-token"))
    with TestClient(app) as client:
        root = client.get("/", follow_redirects=False)
        assert root.status_code == 307
        assert root.headers["location"] == "/ui/"
        page = client.get("/ui/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assets = re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', page.text)
        assert "/ui/static/js/app.js" in assets and "/ui/static/app.css" in assets
        static = resources.files("linkbase.web").joinpath("static")
        scripts = [f"/ui/static/js/{p.name}" for p in static.joinpath("js").iterdir()]
        bodies = [client.get(path) for path in [*assets, *scripts]]
        assert all(b.status_code == 200 for b in bodies)
        text = page.text + "".join(b.text for b in bodies)
        assert "/arvados/v1/" in text and "/linkbase/v1/graph/neighbors" in text
        assert "/v2/Repositories" in text
        # offline: no CDN, nothing fetched elsewhere (the SVG namespace is a name, not a fetch)
        assert not re.search(r"https?://", text.replace("http://www.w3.org/2000/svg", ""))
        repositories = client.get("/v2/Repositories").json()["value"]
        assert repositories[0]["webClientUrl"].endswith("/ui/?repository=r-default")
    app.state.services.db.dispose()
