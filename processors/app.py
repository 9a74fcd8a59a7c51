"""The deployable's one Faust app: configuration only; contexts' workers add their agents.

Every worker of every context shares this app, so they share one consumer group and one
changelog prefix: a table `T` is backed by the topic `changelog_topic(T)`.
"""

from __future__ import annotations

from pathlib import Path

import faust
from faust.auth import Credentials
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from eventstore.topics import TopicSpec
from processors.faust_kafka import ReleasingFlowControl, use_read_committed
from processors.owned_table import OwnedKeysTable
from processors.producer_batching import batch_by_broker

APP_NAME = "skald.worker"  # the consumer group and changelog prefix, before the namespace


def changelog_topic(table: str) -> str:
    """The logical name of a Faust table's changelog (namespaced like any topic)."""
    return f"{APP_NAME}-{table}-changelog"


class WorkerApp(faust.App):
    """Faust's app, with the flow control that lets cleared queues release their records."""

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return ReleasingFlowControl(loop=self.loop)


def build_app(
    app_id: str,
    bootstrap: str,
    credentials: Credentials | None,
    partitions: int,
    replication: int,
    datadir: Path,
) -> faust.App:
    """A Faust app on the configured cluster, at-least-once (see processors/README.md).

    `app_id` is `APP_NAME` namespaced like a consumer group, so tests stay apart.
    """
    use_read_committed()
    batch_by_broker()
    brokers = [f"kafka://{host}" for host in bootstrap.split(",")]
    return WorkerApp(
        app_id,
        broker=brokers,
        broker_credentials=credentials,  # PLAINTEXT, TLS or MSK IAM
        store="memory://",  # restored from the changelog on start: no local state to lose
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=False,  # several workers per machine: no port to clash
        processing_guarantee="at_least_once",  # exactly_once: see processors/README.md
        # stream_wait_empty stays True: on stop, Faust must let in-flight batches finish before
        # its last offset commit. False lost a saga in CI: agents were cancelled mid-batch, the
        # stream acked their events anyway, and the commit passed a state never made durable.
        topic_partitions=partitions,  # tables co-partitioned with the events
        topic_replication_factor=replication,
        table_standby_replicas=0,  # no standby copies
        # Forgets a revoked partition's keys, written ones too (faust's memory store drops
        # only keys it restored): see processors/owned_table.py.
        Table=OwnedKeysTable,
        consumer_auto_offset_reset="earliest",  # a new group starts at the first event
        producer_acks=-1,  # a table's state is durable before the commands it caused leave
        # A saga batch sends to several command topics and the changelog: 5 ms lets those
        # sends share produce requests (each is a syscall here and a request for the broker),
        # at most 5 ms more a hop; `producer_batching.py` sends them in one.
        producer_linger=0.005,
        broker_session_timeout=10.0,  # a killed worker's partitions move within ~10 s
        broker_heartbeat_interval=1.0,
        # Offsets processed but not yet committed look like queued work to the door's
        # admission (a saga passes the worker five times); 0.2 s keeps that under a second.
        broker_commit_interval=0.2,
    )


def leader_topic() -> str:
    """The logical name of the topic Faust's leader assignor creates for the app (it names it
    after the app id, `<app id>-__assignor-__leader`)."""
    return f"{APP_NAME}-__assignor-__leader"


def leader_spec() -> TopicSpec:
    """Faust's leader topic, declared so the worker never creates a topic itself."""
    return TopicSpec(leader_topic(), {"cleanup.policy": "delete"}, partitions=1, keyed=False)


def changelog_spec(table: str) -> TopicSpec:
    """A table's changelog, declared so `skald setup` creates it before any worker starts
    (nothing relies on auto-creation); compacted: the newest value per key is the state."""
    return TopicSpec(changelog_topic(table), {"cleanup.policy": "compact"})
