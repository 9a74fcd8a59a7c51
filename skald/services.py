"""The composition root: the only place that reads settings and builds clients."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from opensearchpy import OpenSearch
from sqlalchemy import Engine, create_engine

from eventstore import kafka_config
from eventstore.appender import KafkaEventAppender
from eventstore.codec import EventCodec, SingleObjectCodec
from eventstore.mapper import EventMapper
from eventstore.schemas import SchemaRepository
from projections.model import OpenSearchProjection, PostgresProjection, Sink
from projections.opensearch_sink import OpenSearchSink
from projections.postgres_sink import PostgresSink
from projections.projector import Projector
from skald.context import BoundedContext
from skald.settings import Settings


def sqlalchemy_url(dsn: str) -> str:
    """A libpq DSN as an SQLAlchemy URL that uses psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg://" + dsn[len(prefix) :]
    raise ValueError(f"SKALD_PG_DSN must start with postgresql://, got {dsn!r}")


@dataclass
class Services:
    """Lazily built clients for one process; `close()` releases what was built."""

    settings: Settings
    contexts: tuple[BoundedContext, ...]

    @cached_property
    def schemas(self) -> SchemaRepository:
        return SchemaRepository.from_directory(self.settings.schemas_dir)

    @cached_property
    def codec(self) -> EventCodec:
        return SingleObjectCodec(self.schemas)

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
        return AdminClient(kafka_config.admin_config(self.settings))

    @cached_property
    def appender(self) -> KafkaEventAppender:
        producer = Producer(kafka_config.producer_config(self.settings))
        return KafkaEventAppender(producer, self.codec, self.mapper, source="skald/api")

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

    def projector(self, name: str) -> Projector:
        """A projector for one named projection, with its own consumer group."""
        sink, topics = self.sinks()[name]
        consumer = Consumer(kafka_config.consumer_config(self.settings, f"projection.{name}"))
        return Projector(
            consumer, sink, [self.settings.topic(t) for t in topics], self.codec, self.mapper
        )

    def close(self) -> None:
        """Flush the producer and dispose of pools that were opened."""
        if "appender" in self.__dict__:
            self.appender.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "opensearch" in self.__dict__:
            self.opensearch.close()
