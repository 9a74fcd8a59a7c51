"""A read model's own freshness budget (`linger_ms`) sets its projector's group-commit window;
one that declares none follows `SKALD_PROJECTION_LINGER_MS`."""

from __future__ import annotations

from eventstore.kafka_config import GATHER_BYTES, GATHER_FROM_MS, fetch_within
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings


def _services(linger_ms: int) -> Services:
    # Unreachable endpoints: building a projector's settings must not need a running service.
    settings = Settings(
        _env_file=None,
        kafka_bootstrap="127.0.0.1:1",
        pg_dsn="postgresql://x:x@127.0.0.1:1/x",
        opensearch_url="http://127.0.0.1:1",
        projection_linger_ms=linger_ms,
    )
    return Services(settings, CONTEXTS)


def test_a_declared_budget_wins_and_the_rest_follow_the_setting() -> None:
    services = _services(50)
    assert services.projection_linger_ms("sales.order-search") == 500  # OpenSearch
    assert services.projection_linger_ms("loyalty.points") == 500  # PostgreSQL
    # What a client reads right after its command stays as fresh as the setting says.
    assert services.projection_linger_ms("inventory.stock-levels") == 50
    assert services.projection_linger_ms("sales.orders") == 50
    assert _services(20).projection_linger_ms("sales.sagas") == 20


def test_a_relaxed_models_projector_lets_the_broker_gather_its_fetches() -> None:
    services = _services(50)
    relaxed = services.projector_consumer_config("sales.order-history", "g")
    assert relaxed["fetch.wait.max.ms"] == 500  # never longer than the model may trail
    assert relaxed["fetch.min.bytes"] == GATHER_BYTES
    fresh = services.projector_consumer_config("inventory.stock-levels", "g")
    assert "fetch.min.bytes" not in fresh  # answered as soon as a record is there


def test_only_a_budget_with_room_waits_for_bytes() -> None:
    assert fetch_within(GATHER_FROM_MS - 1) == {}
    assert fetch_within(2000) == {"fetch.min.bytes": GATHER_BYTES, "fetch.wait.max.ms": 2000}
