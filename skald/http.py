"""The deployable's HTTP API: every context's routes on the framework's app."""

from __future__ import annotations

from fastapi import FastAPI

from producers.app import create_app
from skald.services import Services


def build_api(services: Services) -> FastAPI:
    """The API over `services`; closes their clients on shutdown."""
    routers = [routes(services) for context in services.contexts for routes in context.routes]
    return create_app(
        routers, services.settings.max_body_bytes, services.open_api_clients, services.close
    )
