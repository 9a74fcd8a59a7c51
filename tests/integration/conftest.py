"""Fixtures for tests against real Kafka, PostgreSQL and OpenSearch.

Every test gets its own namespace: unique topics, consumer groups, indices and schema.
"""

from __future__ import annotations

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


@pytest.fixture
def settings(endpoints: Endpoints) -> Settings:
    return Settings(
        _env_file=None,
        kafka_bootstrap=endpoints.kafka_bootstrap,
        pg_dsn=endpoints.pg_dsn,
        opensearch_url=endpoints.opensearch_url,
        namespace=f"t{uuid.uuid4().hex[:10]}",
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """Services for a fresh namespace with its topics and read models created."""
    built = Services(settings, CONTEXTS)
    apply_topic_specs(built)
    create_read_models(built)
    yield built
    built.close()
    drop_namespace(settings)
