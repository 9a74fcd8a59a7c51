"""Duplicate records in the log and redelivered batches leave the read models unchanged."""

from __future__ import annotations

import random

from eventstore.position import Position
from projections.decoding import EventDecoder
from projections.model import ProjectedEvent
from skald.services import Services
from tests.integration.kafka_probe import read_all
from tests.integration.projections.actual import (
    PROJECTIONS,
    assert_models_equal,
    wait_caught_up,
)
from tests.integration.projections.expected import fold_log
from tests.integration.projections.in_process import projecting
from tests.integration.projections.log_writer import ORDERS, STOCK, LogWriter, scenario


def _redeliver(services: Services, name: str, topic: str) -> None:
    """Hand every event of the topic to the sink again, as a crash before commit would."""
    sink = services.sink(name)
    decoder = EventDecoder(services.codec, services.mapper, sink.handled_types())
    batch: list[ProjectedEvent] = []
    offsets: dict[tuple[str, int], int] = {}
    for message in read_all(services.settings.kafka_bootstrap, services.settings.topic(topic)):
        if decoder.handles(message):
            batch.append(decoder.decode(message))
        position = Position(message.topic() or "", message.partition() or 0, message.offset() or 0)
        offsets[(position.topic, position.partition)] = position.offset + 1
    for start in range(0, len(batch), 700):
        chunk = batch[start : start + 700]
        sink.apply(chunk, {k: v for k, v in offsets.items() if k[1] == chunk[0].position.partition})
    sink.apply(list(reversed(batch[:300])), offsets)  # out of order, too


def test_duplicates_and_redeliveries_change_nothing(
    services: Services, log_writer: LogWriter
) -> None:
    events = scenario(orders=1_500, skus=80, stock_events=3_000, seed=3)
    duplicates = random.Random(5).sample(events, 400)  # a producer retrying after a timeout
    log_writer.write(events + duplicates)
    with projecting(services, *PROJECTIONS):
        wait_caught_up(services)
    expected = fold_log(services)
    assert_models_equal(services, expected)
    for name, topic in (
        ("sales.orders", ORDERS),
        ("sales.order-search", ORDERS),
        ("inventory.stock-levels", STOCK),
    ):
        _redeliver(services, name, topic)
    services.opensearch.indices.refresh(index=services.settings.index("orders"))
    assert_models_equal(services, expected)
