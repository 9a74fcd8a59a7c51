"""A broker stalled (SIGSTOP) past the transaction timeout under load, then resumed: the
processor recovers by itself. Runs against a private broker, never the shared one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from command_processor.session import TransactionSession
from contexts.sales.aggregates import ORDER
from eventstore import kafka_config
from eventstore.position import Position
from skald.services import Services
from skald.settings import Settings
from tests.integration.commands.harness import (
    ProcessFactory,
    SkaldProcess,
    assert_contiguous,
    check_outcomes,
    read_events,
)
from tests.integration.commands.load import ORDER as ORDER_BODY
from tests.integration.commands.load import BackgroundLoad, mixed_commands, settle
from tests.integration.conftest import fresh_settings, group_coordinator_ready
from tests.integration.stack import Endpoints
from tests.integration.throwaway_kafka import ThrowawayBroker, kafka_libs, throwaway_kafka

# Longer than transaction.timeout.ms (10 s) and the consumer's session timeout (10 s): the
# broker wakes to an expired transaction and an expired group member.
STALL_SECONDS = 15

pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayBroker]:
    libs = kafka_libs()
    if libs is None:
        pytest.skip("no Kafka distribution here (deploy/local/stack.py up fetches it)")
    directory: Path = tmp_path_factory.mktemp("kafka")
    with throwaway_kafka(directory, libs) as running:
        group_coordinator_ready(running.bootstrap)
        yield running


@pytest.fixture
def settings(endpoints: Endpoints, broker: ThrowawayBroker) -> Settings:
    """The test's namespace, on the private broker."""
    return fresh_settings(endpoints, broker.bootstrap)


@pytest.fixture
def api(spawn: ProcessFactory) -> SkaldProcess:
    """The API without its backlog monitor (admission is not under test here: its admin
    calls are where librdkafka once crashed the API), with a stack dump should it crash."""
    env = {"SKALD_ADMISSION_ENABLED": "false", "PYTHONFAULTHANDLER": "1"}
    process = spawn("api", ["api"], env)
    process.wait_healthy()
    return process


@pytest.fixture
def processor(spawn: ProcessFactory) -> SkaldProcess:
    process = spawn("processor", ["process"], {"PYTHONFAULTHANDLER": "1"})
    process.wait_for_log("assigned")
    return process


def test_a_stalled_broker_loses_nothing_duplicates_nothing_and_blocks_nothing(
    services: Services, broker: ThrowawayBroker, api: SkaldProcess, processor: SkaldProcess
) -> None:
    load = BackgroundLoad(api.url, mixed_commands(300), concurrency=6).start()
    load.wait_answered(60, timeout=180)
    log_mark = len(processor.log())
    broker.pause()  # mid-transaction: the load keeps the processor busy
    time.sleep(STALL_SECONDS)
    broker.resume()
    load.join(timeout=600)
    settle(api.url, load.attempts, timeout=300)
    assert api.process is not None and api.process.poll() is None, api.log()[-3000:]

    events = read_events(services.settings, ORDER.events_topic, services.codec)
    assert_contiguous(events)
    check_outcomes(load.attempts, events)
    woke = processor.log()[log_mark:]
    assert "transaction" in woke, woke  # the stall hit a transaction and was recovered from
    assert processor.process is not None and processor.process.poll() is None, woke
    served = _partitions_serving(api.url, orders=30)
    assert served == set(range(services.settings.topic_partitions)), served


def test_a_processor_stopping_during_a_stall_does_not_wait_for_the_broker(
    services: Services, broker: ThrowawayBroker
) -> None:
    """Closing with a transaction open aborts it once and gives up: before, the abort was
    retried and the producer re-created, which waits for the broker as long as it takes."""
    settings = services.settings
    config = kafka_config.transactional_producer_config(
        settings.kafka_connection(), settings.group("stall.close")
    )
    session = TransactionSession(config, call_timeout=2.0, give_up_after=4.0)
    session.begin()
    session.produce(settings.topic(ORDER.events_topic), b"k", b"never committed", [], 0)
    session.flush()
    broker.pause()
    try:
        closing = threading.Thread(target=session.close, daemon=True)
        closing.start()
        closing.join(60)
    finally:
        broker.resume()
    assert not closing.is_alive(), "close() is still waiting for the stalled broker"
    assert not session.in_transaction


def _partitions_serving(url: str, orders: int) -> set[int]:
    """New orders after the stall: every one accepted; the partitions their events went to."""
    partitions = set()
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(orders):
            response = client.post("/orders", json=ORDER_BODY)
            assert response.status_code == 201, response.text
            partitions.add(Position.from_token(response.json()["position"]).partition)
    return partitions
