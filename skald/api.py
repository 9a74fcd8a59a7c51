"""The HTTP API's composition: every registered context's routes on this process's services."""

from __future__ import annotations

from fastapi import FastAPI

from producers.app import build_api
from skald.services import Services


def create_app(services: Services) -> FastAPI:
    """The HTTP API; closes the services' clients on shutdown."""

    def start() -> None:
        # Build the clients before the first request, not racing inside it.
        services.command_bus, services.engine, services.opensearch  # noqa: B018

    routers = [routes(services) for context in services.contexts for routes in context.routes]
    return build_api(routers, services.settings.max_body_bytes, start, services.close)
