"""The projector `skald project` builds for a read model batches by the model's own freshness
budget (`linger_ms`), or by `SKALD_PROJECTION_LINGER_MS` when it declares none."""

from __future__ import annotations

from skald.services import Services


def test_each_projector_groups_its_commits_by_its_models_budget(services: Services) -> None:
    history = services.projector("sales.order-history")  # declares 500 ms
    orders = services.projector("sales.orders")  # declares none
    try:
        assert history._linger == 0.5
        assert orders._linger == services.settings.projection_linger_ms / 1000
    finally:
        history._consumer.close()  # never run: nothing else to stop
        orders._consumer.close()
