"""The deployable's HTTP API: every context's routes on the framework's app."""

from __future__ import annotations

from fastapi import FastAPI

from producers.app import create_app
from producers.auth import ApiAuth
from producers.bearer_tokens import TokenVerifier
from skald.services import Services


def build_api(services: Services) -> FastAPI:
    """The API over `services`; closes their clients on shutdown."""
    settings = services.settings
    routers = [routes(services) for context in services.contexts for routes in context.routes]
    rules = settings.token_rules()
    auth = None
    if rules is not None:
        auth = ApiAuth(
            TokenVerifier(rules), settings.auth_commands_scope, settings.auth_queries_scope
        )
    return create_app(
        routers, settings.max_body_bytes, services.open_api_clients, services.close, auth=auth
    )
