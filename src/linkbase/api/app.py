"""The ASGI application: every face mounted on one FastAPI app over one set of services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import ModuleType

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from linkbase.api import docs, observability, ops, worker_threads
from linkbase.api.arvados import routes as arvados_routes
from linkbase.api.arvados import websocket as arvados_websocket
from linkbase.api.arvados.errors import error_response, render_error
from linkbase.api.error_guard import ErrorGuard
from linkbase.api.request_id import RequestIdMiddleware, request_id_of
from linkbase.api.responses import JSONBody
from linkbase.bootstrap import prepare_database
from linkbase.domain.errors import LinkbaseError
from linkbase.interpreter import freeze_startup_heap
from linkbase.optional import import_optional
from linkbase.services.context import Services
from linkbase.settings import Settings
from linkbase.storage.database import Database


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the app; prepares (migrates and seeds) the database unless one is given."""
    settings = settings or Settings()
    database = db or prepare_database(settings)
    app = docs.new_app(lifespan=_request_threads(settings.request_threads))
    app.state.services = Services(database, settings)
    worker_threads.ensure_threads(settings.request_threads)
    faces = _optional_faces()
    app.add_middleware(arvados_routes.ArvadosFace)  # first added: innermost
    for face in faces:
        for middleware in getattr(face, "MIDDLEWARE", ()):
            app.add_middleware(middleware)
    app.add_middleware(ErrorGuard)  # inside every other middleware
    app.add_middleware(arvados_routes.ArvadosCors)
    app.add_middleware(RequestIdMiddleware)  # outside CORS: every response gets the id
    observability.install(app, log_requests=settings.log_requests)
    app.include_router(ops.router)
    app.include_router(arvados_websocket.router)
    for face in faces:
        face.register(app)

    @app.exception_handler(LinkbaseError)
    async def _domain_error(request: Request, exc: LinkbaseError) -> Response:
        return render_error(exc, request_id_of(request))

    @app.exception_handler(Exception)
    async def _server_fault(request: Request, exc: Exception) -> Response:
        # Rendered outside every middleware (Starlette's outermost error handler), so the
        # request id header is set here; the id is the one the middleware chose.
        request_id = request_id_of(request)
        return error_response(500, ["Internal server error"], request_id,
                              headers={"X-Request-Id": request_id})

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        # Native routes declare their query parameters for the API description; a value out
        # of bounds is a 422 in the native (Arvados) error shape, never FastAPI's own.
        messages = [
            f"{'.'.join(str(p) for p in error.get('loc', ())[1:])}: {error.get('msg')}"
            for error in exc.errors()
        ]
        return error_response(422, messages or ["Invalid request"],
                              request_id_of(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        request_id = request_id_of(request)
        if exc.status_code == 404:
            return error_response(404, ["Path not found"], request_id)
        if exc.status_code == 405:
            return error_response(404, ["Path not found"], request_id)
        return JSONBody({"errors": [str(exc.detail)]}, status_code=exc.status_code)

    return app


def _request_threads(count: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that sizes the worker threads requests run their database work in
    (``api.worker_threads``, and anyio's for the framework's own), and stops the event bus at
    shutdown.

    Measured with ``bench/http.py``: at 32 connections, 40 threads (anyio's default) spent
    about twice the CPU per request of 2–8 threads, in GIL handoffs between threads that each
    hold a request; the pool of connections is sized to match (``storage.engine``).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = count
        worker_threads.ensure_threads(count)
        try:
            yield
        finally:
            bus = getattr(app.state, "event_bus", None)  # api.events, started on demand
            if bus is not None:
                bus.stop()

    return lifespan


def app_from_environment() -> FastAPI:
    """The app of one worker process of ``linkbase serve --workers N``: settings from the
    environment, over a database the parent process has already migrated and seeded."""
    settings = Settings()
    app = create_app(settings, Database(settings.database_url,
                                        pool_size=settings.request_threads))
    freeze_startup_heap()
    return app


def _optional_faces() -> list[ModuleType]:
    """The Laserfiche, native and web faces whose modules are present: each has ``register``
    (its routes) and may have ``MIDDLEWARE`` (pure ASGI, installed innermost)."""
    found = (import_optional(name) for name in ("linkbase.api.laserfiche.routes",
                                                 "linkbase.api.native.routes",
                                                 "linkbase.web.routes"))
    return [module for module in found if module is not None]
