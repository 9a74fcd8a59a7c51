"""The fulfillment worker's Faust app: configuration only; agents are added by `agents.wire`."""

from __future__ import annotations

from pathlib import Path

import faust

from processors.faust_kafka import use_read_committed
from processors.faust_security import broker_credentials
from skald.settings import Settings


def app_id(settings: Settings) -> str:
    """The consumer group and changelog prefix (namespaced, so tests stay apart)."""
    return settings.group("skald.fulfillment")


def build_app(settings: Settings, datadir: Path) -> faust.App:
    """A Faust app on the configured cluster, at-least-once (see processors/README.md)."""
    use_read_committed()
    brokers = [f"kafka://{host}" for host in settings.kafka_bootstrap.split(",")]
    return faust.App(
        app_id(settings),
        broker=brokers,
        broker_credentials=broker_credentials(
            settings.kafka_connection()
        ),  # PLAINTEXT, TLS or MSK IAM
        store="memory://",  # restored from the changelog on start: no local state to lose
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=False,  # several workers per machine: no port to clash
        processing_guarantee="at_least_once",  # exactly_once: see processors/README.md
        # stream_wait_empty stays True: on stop, Faust must let in-flight batches finish before
        # its last offset commit. False lost a saga in CI: agents were cancelled mid-batch, the
        # stream acked their events anyway, and the commit passed a state never made durable.
        topic_partitions=settings.topic_partitions,  # tables co-partitioned with the events
        topic_replication_factor=settings.topic_replication,
        table_standby_replicas=0,  # a table's items() are then this worker's sagas only
        consumer_auto_offset_reset="earliest",  # a new group starts at the first order
        producer_acks=-1,  # a saga's state is durable before its commands leave
        broker_session_timeout=10.0,  # a killed worker's partitions move within ~10 s
        broker_heartbeat_interval=1.0,
        broker_commit_interval=1.0,
    )
