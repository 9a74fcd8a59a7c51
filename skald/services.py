"""The composition root: the only place that reads settings and builds clients."""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from opensearchpy import OpenSearch
from sqlalchemy import Engine, create_engine

from command_processor.partitions import Topology
from command_processor.runner import CommandProcessor
from command_processor.session import TransactionSession
from eventstore import kafka_config
from eventstore.aggregate import AggregateType
from eventstore.appender import KafkaEventAppender
from eventstore.codec import EventCodec, SingleObjectCodec
from eventstore.mapper import EventMapper
from eventstore.outgoing import EventRecordFactory
from eventstore.partition_counts import PartitionCounts
from eventstore.schemas import SchemaRepository
from eventstore.topic_admin import apply_topics
from eventstore.upcasting import Upcasters
from processors.app import APP_NAME
from producers.admission import Admission, admission_gate
from producers.backlog import Backlog, BacklogMonitor
from producers.command_bus import REPLY_TOPIC, CommandBus
from projections.consistency import consistent_with
from projections.dead_letters import DeadLetterWriter, dead_letter_spec
from projections.decoding import Decoder, decoder_for
from projections.model import OpenSearchProjection, PostgresProjection, Sink
from projections.opensearch import OpenSearchSink
from projections.postgres import PostgresSink
from projections.projector import Projector
from skald.context import BoundedContext
from skald.settings import Settings


def sqlalchemy_url(dsn: str) -> str:
    """A libpq DSN as an SQLAlchemy URL that uses psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg://" + dsn[len(prefix) :]
    raise ValueError(f"SKALD_PG_DSN must start with postgresql://, got {dsn!r}")


async def _admit() -> None:
    """The admission gate when admission control is off."""


@dataclass
class Services:
    """Lazily built clients for one process; `close()` releases what was built.

    The composition root, and the `skald.runtime.Runtime` every context is handed.
    """

    settings: Settings
    contexts: tuple[BoundedContext, ...]

    @cached_property
    def schemas(self) -> SchemaRepository:
        return SchemaRepository.from_directory(self.settings.schemas_dir)

    @cached_property
    def upcasters(self) -> Upcasters:
        return Upcasters.discover(cls for context in self.contexts for cls in context.event_classes)

    @cached_property
    def codec(self) -> EventCodec:
        """Confluent wire format when a schema registry is configured, else single-object."""
        url = self.settings.schema_registry_url
        if not url:
            return SingleObjectCodec(self.schemas, self.upcasters)
        # Imported here: the registry client's extra dependencies matter only when it is used.
        from confluent_kafka.schema_registry import SchemaRegistryClient

        from eventstore.registry_codec import RegistryCodec

        return RegistryCodec(SchemaRegistryClient({"url": url}), self.schemas, self.upcasters, url)

    @cached_property
    def mapper(self) -> EventMapper:
        return EventMapper(cls for context in self.contexts for cls in context.event_classes)

    @cached_property
    def engine(self) -> Engine:
        engine = create_engine(sqlalchemy_url(self.settings.pg_dsn), pool_pre_ping=True)
        return engine.execution_options(schema_translate_map={None: self.settings.pg_schema})

    @cached_property
    def opensearch(self) -> OpenSearch:
        return OpenSearch(self.settings.opensearch_url, timeout=30)

    @cached_property
    def admin(self) -> AdminClient:
        return AdminClient(kafka_config.admin_config(self.settings.kafka_connection()))

    @cached_property
    def appender(self) -> KafkaEventAppender:
        producer = Producer(kafka_config.producer_config(self.settings.kafka_connection()))
        return KafkaEventAppender(producer, self.event_records)

    @cached_property
    def event_records(self) -> EventRecordFactory:
        return EventRecordFactory(self.codec, self.mapper, source="skald")

    @property
    def command_timeout(self) -> float:
        return self.settings.command_timeout_seconds

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    def index(self, name: str) -> str:
        return self.settings.index(name)

    def read_your_writes(self, projection: str) -> Callable[..., None]:
        """A FastAPI dependency waiting for the request's X-Skald-Position in `projection`."""
        return consistent_with(
            self.sink(projection),
            self.projection_topics(projection),
            self.settings.read_your_writes_timeout_seconds,
            lambda topic: self.partition_counts(topic),  # built on the first token, not now
        )

    @cached_property
    def partition_counts(self) -> PartitionCounts:
        """Topics' partition counts (a forged consistency token is refused by them)."""
        return PartitionCounts(self.admin)

    def open_api_clients(self) -> None:
        """Build what the API uses before its first request (and start the backlog monitor)."""
        self.command_bus, self.engine, self.opensearch  # noqa: B018
        if self.settings.admission_enabled:
            self.admission  # noqa: B018

    @cached_property
    def backlog_monitor(self) -> BacklogMonitor:
        """Samples the work queued for the command processor and the worker; started here."""
        groups: dict[str, list[str] | None] = {
            self.settings.group("skald.commands"): [t.commands for t in self.topologies()],
            self.settings.group(APP_NAME): None,  # the topics its agents committed
        }
        # Reads idle partitions' tails: transaction markers there are no work.
        reader = Consumer(
            kafka_config.reader_config(
                self.settings.kafka_connection(), self.settings.group("skald.reader")
            )
        )
        monitor = BacklogMonitor(self.admin, groups, reader=reader)
        monitor.start()
        return monitor

    @property
    def backlog(self) -> Backlog:
        """The latest backlog (starts the monitor on first use)."""
        return self.backlog_monitor.snapshot()

    @cached_property
    def admission(self) -> Admission:
        settings = self.settings
        return Admission(
            self.backlog_monitor,
            settings.admission_max_backlog_seconds,
            settings.admission_min_messages,
        )

    def admission_gate(self, route_name: str, hops: int = 1) -> Callable[..., Awaitable[None]]:
        """A FastAPI dependency: 503 with Retry-After while the backlog is over the limit.

        Routes are built before the API opens its clients: until `open_api_clients()` has
        built the admission (and started its monitor), the gate admits. It never blocks (the
        monitor's snapshot is read, not fetched), so it runs on the event loop: a sync
        dependency would cost every request, refused ones most of all, a trip through the
        thread pool, and the door must say no cheaply when it is busiest.
        """
        if not self.settings.admission_enabled:
            return _admit

        built: list[Callable[[], None]] = []  # the real gate, once the admission exists

        async def gate() -> None:
            admission = self.__dict__.get("admission")
            if admission is None:
                return
            if not built:
                built.append(admission_gate(admission, route_name, hops))
            built[0]()

        return gate

    @property
    def aggregates(self) -> list[AggregateType[Any]]:
        return [aggregate for context in self.contexts for aggregate in context.aggregates]

    def topologies(self) -> list[Topology]:
        """Every aggregate type with its namespaced topics."""
        topic = self.settings.topic
        return [
            Topology(
                a,
                topic(a.commands_topic),
                topic(a.events_topic),
                topic(a.state_topic),
                topic(a.outcomes_topic),
            )
            for a in self.aggregates
        ]

    @cached_property
    def command_bus(self) -> CommandBus:
        connection = self.settings.kafka_connection()
        reply_timeout_ms = int(self.settings.command_timeout_seconds * 1000)
        bus = CommandBus(
            Producer(kafka_config.command_producer_config(connection, reply_timeout_ms)),
            Consumer(
                kafka_config.reply_reader_config(connection, self.settings.group("skald.reader"))
            ),
            self.settings.topic(REPLY_TOPIC.name),
            self.command_mapper,
            {t.aggregate.name: t.commands for t in self.topologies()},
        )
        bus.start()
        return bus

    def command_processor(self, names: list[str] | None = None) -> CommandProcessor:
        """A processor for the named aggregate types (default: all) in one consumer group."""
        chosen = [t for t in self.topologies() if not names or t.aggregate.name in names]
        settings = self.settings
        connection = settings.kafka_connection()

        # One transactional id per processor instance (KIP-447: the group generation fences
        # zombies). Host and pid: a restarted container (same host name, pid 1) re-fences
        # its predecessor at once instead of waiting out its transaction timeout.
        instance = f"{socket.gethostname()}.{os.getpid()}"
        transactional_id = f"{settings.group('skald.commands')}.{instance}"

        def new_session() -> TransactionSession:
            return TransactionSession(
                kafka_config.transactional_producer_config(connection, transactional_id)
            )

        return CommandProcessor(
            Consumer(
                kafka_config.command_consumer_config(connection, settings.group("skald.commands"))
            ),
            chosen,
            new_session,
            lambda: Consumer(
                kafka_config.reader_config(connection, settings.group("skald.reader"))
            ),
            self.codec,
            self.command_mapper,
            self.event_records,
            settings.idempotency_retention_ms,
            cached_aggregates=settings.processor_cached_aggregates,
        )

    @cached_property
    def command_mapper(self) -> EventMapper:
        """Events and commands: the processor decodes both."""
        classes = [cls for c in self.contexts for cls in (*c.event_classes, *c.command_classes)]
        return EventMapper(classes)

    def postgres_sink(self, projection: PostgresProjection) -> PostgresSink:
        return PostgresSink(self.engine, projection, self.settings.pg_schema)

    def opensearch_sink(self, projection: OpenSearchProjection) -> OpenSearchSink:
        return OpenSearchSink(
            self.opensearch,
            projection,
            alias=self.settings.index(projection.index),
            checkpoint_index=self.settings.index("skald-checkpoints"),
        )

    def sinks(self) -> dict[str, tuple[Sink, tuple[str, ...]]]:
        """Every projection of every context: its sink and the topics it reads, by name."""
        found: dict[str, tuple[Sink, tuple[str, ...]]] = {}
        for context in self.contexts:
            for pg in context.postgres_projections:
                found[pg.name] = (self.postgres_sink(pg), pg.topics)
            for search in context.opensearch_projections:
                found[search.name] = (self.opensearch_sink(search), search.topics)
        return found

    @cached_property
    def projection_sinks(self) -> dict[str, tuple[Sink, tuple[str, ...]]]:
        """`sinks()`, built once per process (queries share them)."""
        return self.sinks()

    def sink(self, name: str) -> Sink:
        """The live-following sink of one projection."""
        return self.projection_sinks[name][0]

    def projection_topics(self, name: str) -> list[str]:
        """The namespaced topics one projection reads."""
        return [self.settings.topic(t) for t in self.projection_sinks[name][1]]

    @cached_property
    def dead_letter_producer(self) -> Producer:
        return Producer(kafka_config.producer_config(self.settings.kafka_connection()))

    def dead_letter_writer(self, name: str) -> DeadLetterWriter:
        """The projection's dead-letter topic writer; creates the topic if missing."""
        (created,) = apply_topics(
            self.admin, [dead_letter_spec(name)], self.settings.topic_defaults()
        )
        return DeadLetterWriter(self.dead_letter_producer, created.topic, name)

    def reader(self, eof: bool = False) -> Consumer:
        """A group-less consumer for assigned reads (dead letters, watermarks); with `eof`,
        reaching a partition's end is reported (reads that must know they saw it all)."""
        config = kafka_config.consumer_config(
            self.settings.kafka_connection(), self.settings.group("skald.reader")
        )
        if eof:
            config["enable.partition.eof"] = True  # the end is an event, not a timeout
        return Consumer(config)

    def projector(self, name: str, sink: Sink | None = None, group: str | None = None) -> Projector:
        """A projector for one named projection (or a replay's pinned sink and own group)."""
        sink = sink or self.sinks()[name][0]
        consumer = Consumer(self.projector_consumer_config(name, group or f"projection.{name}"))
        return Projector(
            consumer,
            sink,
            self.projection_topics(name),
            self.decoder(name, sink),
            self.dead_letter_writer(name),
            batch_size=self.settings.projection_batch_size,
            linger=self.projection_linger_ms(name) / 1000,
        )

    def projector_consumer_config(self, name: str, group: str) -> dict[str, Any]:
        """A projector's consumer: its group, offsets in the sink, fetches that may wait as
        long as the read model's freshness budget."""
        config = kafka_config.consumer_config(
            self.settings.kafka_connection(), self.settings.group(group)
        )
        # Heartbeats run on librdkafka's thread, so a short session only detects dead processes.
        config["session.timeout.ms"] = self.settings.projection_session_timeout_ms
        return config | kafka_config.fetch_within(self.projection_linger_ms(name))

    def projection_linger_ms(self, name: str) -> int:
        """The projection's own freshness budget (`linger_ms`), else the setting."""
        projections: list[PostgresProjection | OpenSearchProjection] = []
        for context in self.contexts:
            projections += context.postgres_projections
            projections += context.opensearch_projections
        own = next((p.linger_ms for p in projections if p.name == name), None)
        return self.settings.projection_linger_ms if own is None else own

    def decoder(self, name: str, sink: Sink) -> Decoder:
        """What turns the projection's records into events and states (live, replay, redrive)."""
        return decoder_for(self.codec, self.mapper, sink.handled_types(), self._state_topics(name))

    def _state_topics(self, name: str) -> dict[str, str]:
        """A projection's state topics: namespaced -> logical."""
        states = [
            s
            for c in self.contexts
            for p in c.postgres_projections
            if p.name == name
            for s in p.states
        ]
        return {self.settings.topic(state.topic): state.topic for state in states}

    def close(self) -> None:
        """Flush the producer and dispose of pools that were opened."""
        if "backlog_monitor" in self.__dict__:
            self.backlog_monitor.close()
        if "appender" in self.__dict__:
            self.appender.close()
        if "command_bus" in self.__dict__:
            self.command_bus.close()
        if "dead_letter_producer" in self.__dict__:
            self.dead_letter_producer.flush(10)
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "opensearch" in self.__dict__:
            self.opensearch.close()
