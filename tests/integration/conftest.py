"""Fixtures for tests against real Kafka, PostgreSQL and OpenSearch.

Every test gets its own namespace: unique topics, consumer groups, indices and schema.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from skald.provision import apply_topic_specs, create_read_models
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings
from tests.integration.namespace import drop_namespace
from tests.integration.running_service import running_skald
from tests.integration.stack import Endpoints, services_for_tests

_WARMUP = TopicPartition("skald-test-warmup", 0, 0)


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with services_for_tests() as found:
        group_coordinator_ready(found.kafka_bootstrap)
        yield found


def group_coordinator_ready(bootstrap: str, timeout: float = 90.0) -> None:
    """On a new cluster, wait until consumer groups work (`__consumer_offsets` is created on
    first use and loads for seconds). An API started in that window once died of a
    segmentation fault in librdkafka (its backlog monitor's admin calls; see the issue notes):
    the tests start on a cluster that is ready, as a deployment's processes would."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(_WARMUP.topic, 1, 1)]).values():
        try:
            future.result()
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "skald-test-warmup"})
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                consumer.commit(offsets=[_WARMUP], asynchronous=False)
                return
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    finally:
        consumer.close()


def fresh_settings(endpoints: Endpoints, kafka_bootstrap: str | None = None) -> Settings:
    """Settings for a new test namespace on the stack (or on another broker)."""
    return Settings(
        _env_file=None,
        kafka_bootstrap=kafka_bootstrap or endpoints.kafka_bootstrap,
        pg_dsn=endpoints.pg_dsn,
        opensearch_url=endpoints.opensearch_url,
        namespace=f"t{uuid.uuid4().hex[:10]}",
    )


@contextlib.contextmanager
def _provisioned(settings: Settings) -> Iterator[Services]:
    built = Services(settings, CONTEXTS)
    apply_topic_specs(built)
    create_read_models(built)
    try:
        yield built
    finally:
        built.close()
        drop_namespace(settings)


@pytest.fixture
def settings(endpoints: Endpoints) -> Settings:
    return fresh_settings(endpoints)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Services for a fresh namespace with its topics and read models created."""
    with _provisioned(settings) as built:
        yield built


@pytest.fixture(scope="module")
def live_skald(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Services]]:
    """`skald run` in a namespace of its own, shared by a module's tests (it takes a while
    to start): its base URL, and services for looking beside it."""
    log = tmp_path_factory.mktemp("skald") / "skald-run.log"
    # A shared machine may be slow: a 504 here would be the machine, not the contract.
    settings = fresh_settings(endpoints).model_copy(update={"command_timeout_seconds": 30.0})
    with (
        _provisioned(settings) as built,
        running_skald(built.settings, log, timeout=120) as base_url,
    ):
        yield base_url, built
