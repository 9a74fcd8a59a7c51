"""Invariant 7: poison pills go to the dead-letter topic with their metadata; the rest flows."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from confluent_kafka import Consumer
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, select
from typer.testing import CliRunner

from contexts.sales.order.events import OrderItem, OrderPlaced
from eventstore import kafka_config
from eventstore.envelope import Envelope
from projections.dead_letters import dead_letter_topic, read_dead_letters
from projections.decoding import EventDecoder
from projections.model import PostgresProjection, Row, RowFold
from projections.postgres import PostgresSink
from projections.projector import Projector
from projections.redrive import redrive
from skald.cli import app
from skald.services import Services
from tests.integration.projections.actual import caught_up
from tests.integration.projections.log_writer import ORDERS, Appendable, LogWriter
from tests.integration.running_service import environment, free_port

NAME = "test.placed-orders"


def _placed(n: int) -> Appendable:
    order_id = f"o-{n}"
    event = OrderPlaced(order_id, "cust", (OrderItem("S", "n", 1, 1),), 1, datetime.now(UTC))
    return Appendable(ORDERS, "order", order_id, 1, event)


def _projection(broken: set[str]) -> tuple[PostgresProjection, Table]:
    metadata = MetaData()
    table = Table(
        "placed_orders",
        metadata,
        Column("order_id", Text, primary_key=True),
        Column("version", Integer, nullable=False),
    )

    def on_placed(row: Row | None, event: OrderPlaced, envelope: Envelope) -> Row:
        if event.order_id in broken:
            raise ValueError(f"cannot handle {event.order_id}")
        return {"order_id": event.order_id, "version": envelope.aggregate_version}

    fold = RowFold(table, lambda e: str(e.order_id), {OrderPlaced: on_placed})
    return PostgresProjection(NAME, (ORDERS,), metadata, folds=(fold,)), table


def _rows(services: Services, table: Table) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_poison_pills_are_dead_lettered_and_a_fixed_one_redrives_once(
    services: Services, log_writer: LogWriter
) -> None:
    broken = {"o-40"}
    projection, table = _projection(broken)
    sink = PostgresSink(services.engine, projection, services.settings.pg_schema)
    sink.setup()
    log_writer.write([_placed(n) for n in range(60)])
    good = _placed(999)
    topic = services.settings.topic(ORDERS)
    headers = [(k, v) for k, v in _envelope_headers(services, good)]
    log_writer.raw(ORDERS, b"o-garbage", b"\xc3\x01not avro at all", headers)
    log_writer.write([_placed(n) for n in range(60, 120)])
    consumer = Consumer(
        kafka_config.consumer_config(
            services.settings.kafka_connection(), services.settings.group(f"projection.{NAME}")
        )
    )
    decoder = EventDecoder(services.codec, services.mapper, sink.handled_types())
    projector = Projector(consumer, sink, [topic], decoder, services.dead_letter_writer(NAME))

    thread = threading.Thread(target=projector.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not caught_up(services, sink, [topic]):
        assert time.monotonic() < deadline, "projection stalled behind a poison pill"
        time.sleep(0.2)
    projector.stop()
    thread.join(30)

    assert _rows(services, table) == 119  # every event but the two poison pills
    letters = read_dead_letters(services.reader(), services.settings.topic(dead_letter_topic(NAME)))
    assert sorted(letter.kind for letter in letters) == ["decode", "handler"]
    for letter in letters:
        assert letter.projection == NAME
        assert letter.source.topic == topic
        assert letter.raw.key in (b"o-40", b"o-garbage")
        assert ("ce_type", b"sales.order.OrderPlaced") in letter.raw.headers  # type: ignore[operator]
    handler = next(letter for letter in letters if letter.kind == "handler")
    assert "cannot handle o-40" in handler.error
    undecodable = next(letter for letter in letters if letter.kind == "decode")
    assert undecodable.raw.value == b"\xc3\x01not avro at all"

    broken.clear()  # the fix ships
    first = redrive(sink, decoder, letters)
    assert [letter.raw.key for letter in first.applied] == [b"o-40"]
    assert len(first.failed) == 1  # bytes that are not Avro stay dead
    second = redrive(sink, decoder, letters)
    assert (second.applied, len(second.already_done)) == ([], 1)
    assert _rows(services, table) == 120


def test_dlq_cli_lists_and_shows_a_dead_letter(services: Services, log_writer: LogWriter) -> None:
    headers = _envelope_headers(services, _placed(1))
    log_writer.raw(ORDERS, b"o-bad", b"garbage", headers)
    log_writer.flush()
    projector = services.projector("sales.orders")

    thread = threading.Thread(target=projector.run, daemon=True)
    thread.start()
    topic = services.settings.topic(ORDERS)
    deadline = time.monotonic() + 30
    while not caught_up(services, services.sink("sales.orders"), [topic]):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    projector.stop()
    thread.join(30)
    env = environment(services.settings, free_port())
    runner = CliRunner()
    listed = runner.invoke(app, ["dlq", "list", "sales.orders"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "1 dead letter(s)" in listed.output
    shown = runner.invoke(app, ["dlq", "show", "sales.orders", "0"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "bad marker" in shown.output and "o-bad" in shown.output
    missing = runner.invoke(app, ["dlq", "show", "sales.orders", "7"], env=env)
    assert missing.exit_code == 1 and "no dead letter at offset 7" in missing.output
    redriven = runner.invoke(app, ["dlq", "redrive", "sales.orders"], env=env)
    assert redriven.exit_code == 1 and "0 applied" in redriven.output  # still undecodable


def _envelope_headers(services: Services, item: Appendable) -> list[tuple[str, str | bytes | None]]:
    envelope = Envelope(
        "e",
        services.mapper.event_type(item.event),
        "tests",
        datetime.now(UTC),
        "order",
        item.aggregate_id,
        1,
        1,
        "c",
        "c",
    )
    return list(envelope.to_headers())
