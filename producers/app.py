"""Builds the FastAPI application around the routers the contexts bring."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

import prometheus_client
from fastapi import APIRouter, Depends, FastAPI

from producers.auth import AUTH_RESPONSES, ApiAuth, authorization
from producers.errors import EDGE_RESPONSES, install_error_handlers
from producers.limits import BodySizeLimit


def create_app(
    routers: Iterable[APIRouter],
    max_body_bytes: int,
    open_clients: Callable[[], None],
    close_clients: Callable[[], None],
    auth: ApiAuth | None = None,
) -> FastAPI:
    """The HTTP API: opens the clients before the first request, closes them on shutdown.

    With `auth`, every context route needs a bearer token with its scope (`producers/auth.py`).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        open_clients()  # built before the first request, not racing inside it
        yield
        close_clients()

    app = FastAPI(
        title="Skald",
        summary="Event sourcing on Kafka: commands append Avro events, queries read projections.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    install_error_handlers(app)

    @app.get("/health", tags=["ops"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.mount("/metrics", prometheus_client.make_asgi_app())  # Prometheus scrapes the API here

    responses = EDGE_RESPONSES if auth is None else {**EDGE_RESPONSES, **AUTH_RESPONSES}
    # Authorization runs first: an unauthorized request is refused before admission or a body.
    dependencies = [] if auth is None else [Depends(authorization(auth))]
    for router in routers:
        # A route's own response entries win.
        app.include_router(router, responses=responses, dependencies=dependencies)
    return app
