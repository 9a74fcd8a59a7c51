"""Garbage on a command topic never stops its partition: each record is refused (when it
names a reply topic) or skipped, and the valid command behind it is served."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.commands import Restock
from eventstore import kafka_config
from producers.command_bus import REPLY_TOPIC, Options
from producers.messages import OutcomeKind
from skald.services import Services
from tests.integration.commands.harness import SkaldProcess

SKU = "SKU-GARBAGE"
BUS_STOCK: Any = STOCK


def _headers(command_type: str, reply_to: str = "skald.replies") -> list[tuple[str, bytes]]:
    return [
        ("skald_command_type", command_type.encode()),
        ("skald_correlation_id", b"garbage-1"),
        ("skald_reply_to", reply_to.encode()),
    ]


def _garbage(reply_topic: str) -> list[tuple[bytes | None, bytes | None, list[Any]]]:
    restock = "inventory.stock.Restock"
    good = {"sku": SKU, "quantity": 1, "at": "2026-01-01T00:00:00+00:00"}
    return [
        (SKU.encode(), b'{"sku": "SKU-GARB', _headers(restock, reply_topic)),  # truncated
        (SKU.encode(), json.dumps(good).encode(), _headers("inventory.stock.Steal", reply_topic)),
        (SKU.encode(), json.dumps({**good, "quantity": "9"}).encode(), _headers(restock)),
        (SKU.encode(), json.dumps({**good, "sku": "x\u0000"}).encode(), _headers(restock)),
        (SKU.encode(), b"[" * 50_000, _headers(restock, reply_topic)),  # absurdly nested
        (SKU.encode(), b'"' + b"x" * 900_000 + b'"', _headers(restock)),  # a huge body
        (SKU.encode(), json.dumps(good).encode(), _headers(restock, "not a topic!")),
        (SKU.encode(), json.dumps(good).encode(), []),  # no headers at all
        (None, b"\x00\xff\xfe", []),  # not even a key
        (b"\xff\xfe", json.dumps(good).encode(), _headers(restock, reply_topic)),  # key not UTF-8
    ]


def test_garbage_on_a_command_topic_is_passed_over_and_the_next_command_served(
    services: Services, processor: SkaldProcess
) -> None:
    settings = services.settings
    topic = settings.topic(STOCK.commands_topic)
    producer = Producer(kafka_config.producer_config(settings.kafka_connection()))
    for key, value, headers in _garbage(settings.topic(REPLY_TOPIC.name)):
        partition = 0 if key is None or key == b"\xff\xfe" else -1  # the SKU's partition too
        producer.produce(topic, key=key, value=value, headers=headers, partition=partition)
    assert producer.flush(30) == 0

    async def restock() -> Any:
        command = Restock(SKU, 5, datetime.now(UTC))
        return await services.command_bus.send(BUS_STOCK, command, Options(), timeout=60)

    reply = asyncio.run(restock())
    assert reply.kind is OutcomeKind.ACCEPTED and reply.version == 1, reply
    processor.wait_for_log("unreadable command", timeout=30)
    assert processor.log().count("unreadable command") >= 9
    assert "Traceback" not in processor.log()
