"""Finds the real services for integration tests.

In order: services named by SKALD_* environment variables; testcontainers where a Docker
engine answers; otherwise the native stack of `deploy/local`, started if it isn't running.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from skald.settings import REPO_ROOT

ENDPOINT_VARIABLES = ("SKALD_KAFKA_BOOTSTRAP", "SKALD_PG_DSN", "SKALD_OPENSEARCH_URL")


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the three services answer."""

    kafka_bootstrap: str
    pg_dsn: str
    opensearch_url: str
    origin: str


def _from_environment() -> Endpoints | None:
    values = [os.environ.get(name) for name in ENDPOINT_VARIABLES]
    if not all(values):
        return None
    kafka, pg, search = (v for v in values if v)
    return Endpoints(kafka, pg, search, origin="environment")


def _docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def _testcontainers() -> Iterator[Endpoints]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.opensearch import OpenSearchContainer
    from testcontainers.postgres import PostgresContainer

    pinned = versions()
    kafka = KafkaContainer(f"apache/kafka:{pinned['KAFKA_VERSION']}").with_kraft()
    postgres = PostgresContainer(
        f"postgres:{pinned['POSTGRES_MAJOR']}", username="skald", password="skald", dbname="skald"
    )
    search = OpenSearchContainer(f"opensearchproject/opensearch:{pinned['OPENSEARCH_VERSION']}")
    with kafka, postgres, search:
        dsn = postgres.get_connection_url(driver=None)
        url = "http://{host}:{port}".format(**search.get_config())
        yield Endpoints(kafka.get_bootstrap_server(), dsn, url, origin="testcontainers")


def _native() -> Endpoints:
    subprocess.run([sys.executable, str(REPO_ROOT / "deploy/local/stack.py"), "up"], check=True)
    return Endpoints(
        "localhost:9092",
        "postgresql://skald:skald@localhost:5432/skald",
        "http://localhost:9200",
        origin="native stack",
    )


def versions() -> dict[str, str]:
    """The pins of deploy/versions.env."""
    lines = (REPO_ROOT / "deploy/versions.env").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


@contextlib.contextmanager
def services_for_tests() -> Iterator[Endpoints]:
    """The endpoints of real services, for as long as the context is open."""
    named = _from_environment()
    if named is not None:
        yield named
    elif _docker_engine_answers():
        with _testcontainers() as endpoints:
            yield endpoints
    else:
        yield _native()
