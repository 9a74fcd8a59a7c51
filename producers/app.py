"""Builds the FastAPI application from the runtime services and the contexts' routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import prometheus_client
from fastapi import FastAPI

from producers.errors import install_error_handlers
from producers.limits import BodySizeLimit
from skald.services import Services


def create_app(services: Services) -> FastAPI:
    """The HTTP API; closes the services' clients on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Build the clients before the first request, not racing inside it.
        services.command_bus, services.engine, services.opensearch  # noqa: B018
        yield
        services.close()

    app = FastAPI(
        title="Skald",
        summary="Event sourcing on Kafka: commands append Avro events, queries read projections.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=services.settings.max_body_bytes)
    install_error_handlers(app)

    @app.get("/health", tags=["ops"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.mount("/metrics", prometheus_client.make_asgi_app())  # Prometheus scrapes the API here

    for context in services.contexts:
        for routes in context.routes:
            app.include_router(routes(services))
    return app
