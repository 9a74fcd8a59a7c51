"""Builds the FastAPI application around routes it is given; knows no context or settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

import prometheus_client
from fastapi import APIRouter, FastAPI

from producers.errors import install_error_handlers
from producers.limits import BodySizeLimit


def build_api(
    routers: Iterable[APIRouter],
    max_body_bytes: int,
    start: Callable[[], object],
    close: Callable[[], object],
) -> FastAPI:
    """The HTTP API: `start` runs before the first request, `close` on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        start()
        yield
        close()

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

    for router in routers:
        app.include_router(router)
    return app
