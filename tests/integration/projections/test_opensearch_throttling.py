"""OpenSearch answering 429 to bulk items: the projector waits it out and loses nothing."""

from __future__ import annotations

import time

from projections.dead_letters import dead_letter_topic, read_dead_letters
from skald.services import Services
from tests.integration.projections.actual import search_orders, wait_caught_up
from tests.integration.projections.expected import fold_log
from tests.integration.projections.in_process import projecting
from tests.integration.projections.log_writer import LogWriter, scenario

NAME = "sales.order-search"


def test_throttled_bulk_items_are_retried_until_accepted(
    services: Services, log_writer: LogWriter
) -> None:
    sink = services.sink(NAME)
    index = f"{services.settings.index('orders')}-v{sink.live_generation()}"
    # The flood-stage block: every bulk item is answered 429 TOO_MANY_REQUESTS.
    services.opensearch.indices.put_settings(
        index=index, body={"index.blocks.read_only_allow_delete": True}
    )
    log_writer.write(scenario(orders=2_000, skus=20, stock_events=0, seed=9))
    with projecting(services, NAME) as (projector,):
        time.sleep(5)
        assert projector.applied == 0  # held back, not skipped
        assert sink.checkpoints(sink.live_generation()) == {}
        services.opensearch.indices.put_settings(
            index=index, body={"index.blocks.read_only_allow_delete": None}
        )
        wait_caught_up(services, (NAME,), within=60)
    expected = fold_log(services).orders
    assert search_orders(services, sorted(expected)) == expected
    topic = services.settings.topic(dead_letter_topic(NAME))
    assert read_dead_letters(services.reader(), topic) == []
