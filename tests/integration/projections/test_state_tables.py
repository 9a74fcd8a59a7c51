"""State tables: a compacted JSON state topic kept as one row per key, with replay and DLQ."""

from __future__ import annotations

import threading
import time
from typing import Any

from confluent_kafka import Consumer, Producer
from sqlalchemy import Column, Integer, MetaData, Table, Text, inspect, select

from eventstore import kafka_config
from eventstore.topic_admin import apply_topics
from eventstore.topics import TopicSpec
from projections.dead_letters import dead_letter_topic, read_dead_letters
from projections.decoding import decoder_for
from projections.model import PostgresProjection, Row, Sink, StateTable
from projections.postgres import PostgresSink
from projections.postgres.storage import generation_schema
from projections.projector import Projector
from projections.replay import Replay
from skald.services import Services
from tests.integration.projections.actual import caught_up

NAME = "test.stock-state"
TOPIC = "test.stock.state"

metadata = MetaData()
stock = Table(
    "stock_state",
    metadata,
    Column("warehouse", Text, primary_key=True),
    Column("sku", Text, primary_key=True),
    Column("on_hand", Integer, nullable=False),
)


def _primary_key(key: str) -> Row:
    warehouse, sku = key.split("|")
    return {"warehouse": warehouse, "sku": sku}


def _row(key: str, value: dict[str, Any]) -> Row:
    if value["on_hand"] < 0:
        raise ValueError(f"negative stock for {key}")
    return {**_primary_key(key), "on_hand": value["on_hand"]}


projection = PostgresProjection(
    NAME, (TOPIC,), metadata, states=(StateTable(stock, TOPIC, _row, _primary_key),)
)

RECORDS: list[tuple[str, bytes | None]] = [
    ("w1|a", b'{"on_hand": 1}'),
    ("w1|b", b'{"on_hand": 2}'),
    ("w2|a", b'{"on_hand": 3}'),
    ("w1|a", b'{"on_hand": 10}'),  # a newer value
    ("w1|b", None),  # a tombstone
    ("w2|a", b'{"on_hand": 3}'),  # a redelivery of the same value
    ("w3|x", b"[1, 2]"),  # not a JSON object: dead-lettered at decoding
    ("w4|y", b'{"on_hand": -1}'),  # row() raises: dead-lettered by the applier
    ("w1|c", b'{"on_hand": 5}'),
    ("w1|d", b'{"on_hand": 7}'),
    ("w1|d", None),  # written and deleted within the same batch
]
EXPECTED = {("w1", "a"): 10, ("w2", "a"): 3, ("w1", "c"): 5}


def _produce(services: Services, topic: str) -> None:
    producer = Producer(kafka_config.producer_config(services.settings.kafka_connection()))
    for key, value in RECORDS:
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def _projector(services: Services, sink: Sink, topic: str, group: str) -> Projector:
    consumer = Consumer(
        kafka_config.consumer_config(
            services.settings.kafka_connection(), services.settings.group(group)
        )
    )
    decoder = decoder_for(services.codec, services.mapper, sink.handled_types(), {topic: TOPIC})
    return Projector(consumer, sink, [topic], decoder, services.dead_letter_writer(NAME))


def _rows(services: Services) -> dict[tuple[str, str], int]:
    with services.engine.connect() as conn:
        found = conn.execute(select(stock.c.warehouse, stock.c.sku, stock.c.on_hand))
        return {(r.warehouse, r.sku): r.on_hand for r in found}


def test_a_state_table_keeps_the_newest_value_per_key_and_replays_the_same(
    services: Services,
) -> None:
    spec = TopicSpec(TOPIC, {"cleanup.policy": "compact"}, partitions=2)
    (created,) = apply_topics(services.admin, [spec], services.settings.topic_defaults())
    topic = created.topic
    sink = PostgresSink(services.engine, projection, services.settings.pg_schema)
    sink.setup()
    _produce(services, topic)

    projector = _projector(services, sink, topic, f"projection.{NAME}")
    thread = threading.Thread(target=projector.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not caught_up(services, sink, [topic]):
        assert time.monotonic() < deadline, "the state projection stalled"
        time.sleep(0.2)
    projector.stop()
    thread.join(30)

    assert _rows(services) == EXPECTED
    letters = read_dead_letters(services.reader(), services.settings.topic(dead_letter_topic(NAME)))
    assert sorted((letter.kind, letter.raw.key) for letter in letters) == [
        ("decode", b"w3|x"),
        ("handler", b"w4|y"),
    ]
    decode = next(letter for letter in letters if letter.kind == "decode")
    assert decode.raw.value == b"[1, 2]" and "not an object" in decode.error
    assert "negative stock" in next(ltr for ltr in letters if ltr.kind == "handler").error

    job = Replay(
        sink,
        [topic],
        services.reader(),
        lambda pinned, group: _projector(services, pinned, topic, group),
        drop_after=0,
    )
    job.run(job.plan("earliest"), lambda progress: None)
    assert sink.live_generation() == 2
    assert _rows(services) == EXPECTED
    schemas = set(inspect(services.engine).get_schema_names())
    schema = services.settings.pg_schema
    assert generation_schema(schema, NAME, 2) in schemas
    assert generation_schema(schema, NAME, 1) not in schemas
