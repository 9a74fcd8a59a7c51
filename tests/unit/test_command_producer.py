"""The API's command producer gives up delivery in time for a 503 before the reply deadline."""

from __future__ import annotations

from eventstore.kafka_config import command_producer_config, producer_config
from eventstore.kafka_connection import KafkaConnection


def test_delivery_fails_well_before_the_reply_deadline() -> None:
    config = command_producer_config(KafkaConnection("x:1"), reply_timeout_ms=5000)
    assert config["message.timeout.ms"] == 2500
    assert config["request.timeout.ms"] == 2500


def test_a_short_reply_deadline_still_leaves_a_healthy_broker_time_to_take_it() -> None:
    config = command_producer_config(KafkaConnection("x:1"), reply_timeout_ms=600)
    assert config["message.timeout.ms"] == 2000  # the reply wait ends first: a 504


def test_otherwise_it_is_the_durable_idempotent_producer() -> None:
    connection = KafkaConnection("x:1")
    config = command_producer_config(connection, reply_timeout_ms=5000)
    timeouts = {"message.timeout.ms", "request.timeout.ms"}
    assert {k: v for k, v in config.items() if k not in timeouts} == producer_config(connection)
    assert config["acks"] == "all" and config["enable.idempotence"] is True
