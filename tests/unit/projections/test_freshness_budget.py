"""A read model's own freshness budget (`linger_ms`) sets its projector's group-commit window;
one that declares none follows `SKALD_PROJECTION_LINGER_MS`."""

from __future__ import annotations

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
