"""A context written in one package plugs in with one registry entry, and nothing else:
its topics are provisioned, its read model projected, its routes served, its worker run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from skald.http import build_api
from skald.provision import declared_topics
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings
from skald.worker_app import worker_app
from tests.fixtures.shipping.context import shipping

REGISTRY = (*CONTEXTS, shipping)  # the one line a newcomer adds to skald/registry.py


def _services() -> Services:
    # Unreachable endpoints: plugging in must not need a running service.
    settings = Settings(
        _env_file=None,
        kafka_bootstrap="127.0.0.1:1",
        pg_dsn="postgresql://x:x@127.0.0.1:1/x",
        opensearch_url="http://127.0.0.1:1",
    )
    return Services(settings, REGISTRY)


def test_its_topics_are_declared_for_setup() -> None:
    names = {spec.name for spec in declared_topics(REGISTRY)}
    assert {
        "shipping.shipment.commands",
        "shipping.shipment.events",
        "shipping.shipment.state",
        "shipping.couriers",
        "skald.worker-shipping_bookings-changelog",
    } <= names


def test_its_read_model_is_a_projection_and_its_aggregate_is_hosted() -> None:
    services = _services()
    assert "shipping.shipments" in services.sinks()
    assert "shipment" in [aggregate.name for aggregate in services.aggregates]


def test_its_routes_are_served() -> None:
    paths = build_api(_services()).openapi()["paths"]
    assert "/shipments/{shipment_id}" in paths
    assert "/orders" in paths  # beside everyone else's


def test_its_worker_runs_in_the_one_faust_app(tmp_path: Path) -> None:
    async def agents() -> list[str]:
        app = worker_app(_services(), tmp_path)
        return [str(name) for name in app.agents]

    names = asyncio.run(agents())
    assert any(name.endswith("shipping_book_couriers") for name in names), names
    assert any(name.endswith("sales_fulfillment_sagas") for name in names), names
