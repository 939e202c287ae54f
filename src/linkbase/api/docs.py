"""The API description (``/openapi.json``) and its browsable pages (``/docs``, ``/redoc``).

The pages are FastAPI's Swagger UI and ReDoc with their scripts served by this server from
the ``fastapi-offline`` package's copies, never from a CDN (machines here are offline). The
description covers the native API and the Laserfiche face; the Arvados face has its own
discovery document, linked from the description's introduction.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline

from linkbase import __version__
from linkbase.api.laserfiche.openapi import REQUEST_MODELS
from linkbase.api.laserfiche.openapi import TAG as LASERFICHE

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
DISCOVERY_URL = "/discovery/v1/apis/arvados/v1/rest"

DESCRIPTION = f"""
Linkbase keeps one graph of objects and typed links with one permission engine, and serves it
through three APIs. Every call but the Laserfiche Token and Repositories ones needs
`Authorization: Bearer <token>` (use **Authorize** above).

* **Linkbase native API** (`/linkbase/v1/...`): graph queries, object descriptions,
  permission explanations, bulk import, link definitions, repositories and documents. Errors
  are Arvados-shaped: `{{"errors": [...]}}` with 401, 403, 404 or 422.
* **Laserfiche Repository API v2** (`/v1/Repositories/{{id}}/Token`, `/v2/Repositories/...`,
  also under `/LFRepositoryAPI`): entries and their links; errors are ProblemDetails.
* **Arvados v1 API** (`/arvados/v1/...`): links, users, groups, collections and tokens,
  described by its [discovery document]({DISCOVERY_URL}) as the Arvados SDKs expect.

Workbench: [/ui/](/ui/). Tokens for a user: `linkbase token create USERNAME` on the server.
"""

TAGS = [
    {"name": "Linkbase: graph", "description": "Neighbourhoods and paths over readable links."},
    {"name": "Linkbase: objects", "description": "Objects by name and kind; entries to objects."},
    {"name": "Linkbase: changes", "description": "The audit log as a resumable change feed: "
     "pages after a cursor, or Server-Sent Events."},
    {"name": LASERFICHE, "description": "Entries and their links (spec laserfiche-v2.md)."},
]


def new_app(**kwargs: Any) -> FastAPI:
    """The FastAPI app with offline ``/docs`` and ``/redoc`` pages."""
    app: FastAPI = FastAPIOffline(
        title="Linkbase", version=__version__, description=DESCRIPTION,
        docs_url=DOCS_URL, redoc_url="/redoc", static_url=ASSETS_URL,
        favicon_url=f"{ASSETS_URL}/favicon.png",
        swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": True},
        openapi_tags=TAGS,
        # FastAPI's own OpenTelemetry hooks off: the server exports Prometheus metrics
        # (api.observability), and the hooks' check ran on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False}, **kwargs)

    def openapi() -> dict[str, Any]:
        """The generated description plus the request models the Laserfiche routes parse
        themselves and the bearer scheme, built once."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes,
                                 tags=app.openapi_tags)
            components = schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for model in REQUEST_MODELS:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(found.pop("$defs", {}))
                schemas[model.__name__] = found
            components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
