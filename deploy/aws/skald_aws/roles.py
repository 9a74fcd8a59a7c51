"""Skald's process roles as ECS runs them: the command line (skald/cli), the Kafka grant,
whether it touches the read-model stores, and its size."""

from __future__ import annotations

from dataclasses import dataclass

from skald_aws import kafka_access
from skald_aws.kafka_access import KafkaGrant
from skald_aws.network import API_PORT

METRICS_PORT = 9464  # SKALD_METRICS_PORT of the projectors, scraped by their collector sidecar


@dataclass(frozen=True, slots=True)
class ProcessRole:
    """One long-running `skald` process kind, run as one ECS service."""

    name: str
    command: tuple[str, ...]  # arguments after `skald`
    grant: KafkaGrant
    read_models: bool  # needs PostgreSQL and OpenSearch
    cpu: int
    memory_mib: int
    metrics: bool = False  # serves Prometheus metrics for the collector sidecar
    port: int | None = None  # the port it serves HTTP on, if any


API = ProcessRole(
    "api", ("api",), kafka_access.API, read_models=True, cpu=1024, memory_mib=2048, port=API_PORT
)
PROCESSOR = ProcessRole(
    "processor", ("process",), kafka_access.PROCESSOR, read_models=False, cpu=1024, memory_mib=2048
)
PROJECTOR = ProcessRole(
    "projector",
    ("project",),
    kafka_access.PROJECTOR,
    read_models=True,
    cpu=1024,
    memory_mib=2048,
    metrics=True,
)
WORKER = ProcessRole(
    "worker", ("worker",), kafka_access.WORKER, read_models=False, cpu=1024, memory_mib=2048
)

# The one-off task before every deployment's services start: topics first (the exact command
# `skald topics apply`), then `skald setup` for the read-model tables and indices (its own
# topics step is then a no-op).
MIGRATION_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("topics-apply", ("topics", "apply")),
    ("setup", ("setup",)),
)
