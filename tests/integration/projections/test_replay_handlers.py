"""A projection of handlers writing SQL of their own (order history) replays into its new
generation, not the live one."""

from __future__ import annotations

from sqlalchemy import func, select

from contexts.sales.read_models.order_history import order_history
from projections.replay import Replay
from skald.services import Services
from tests.integration.kafka_probe import read_all
from tests.integration.projections.actual import wait_caught_up
from tests.integration.projections.in_process import projecting
from tests.integration.projections.log_writer import ORDERS, LogWriter, scenario

NAME = "sales.order-history"


def _rows(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(order_history)).scalar_one())


def test_replay_of_a_handler_projection_rebuilds_every_row(
    services: Services, log_writer: LogWriter
) -> None:
    log_writer.write(scenario(orders=300, skus=5, stock_events=0, seed=21))
    events = len(read_all(services.settings.kafka_bootstrap, services.settings.topic(ORDERS)))
    with projecting(services, NAME):
        wait_caught_up(services, (NAME,))
    assert _rows(services) == events
    sink = services.sink(NAME)
    job = Replay(
        sink,
        services.projection_topics(NAME),
        services.reader(),
        lambda pinned, group: services.projector(NAME, sink=pinned, group=group),
        drop_after=0,
    )
    job.run(job.plan("earliest"), lambda progress: None)
    assert sink.live_generation() == 2
    assert _rows(services) == events
