"""Fixtures for tests against real Kafka, PostgreSQL and OpenSearch.

Every test gets its own namespace: unique topics, consumer groups, indices and schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from skald.provision import apply_topic_specs, create_read_models
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings
from tests.integration.namespace import drop_namespace
from tests.integration.stack import Endpoints, services_for_tests


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    with services_for_tests() as found:
        yield found


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
