"""Tear down everything a test namespace created, so long runs don't pile up state."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient
from opensearchpy import OpenSearch
from sqlalchemy import create_engine, text

from projections.postgres.storage import namespace_generations
from skald.services import sqlalchemy_url
from skald.settings import Settings


def drop_namespace(settings: Settings) -> None:
    """Delete the namespace's topics, indices and PostgreSQL schemas (generations included)."""
    assert settings.namespace, "refusing to drop the default namespace"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    topics = [t for t in admin.list_topics(timeout=10).topics if t.startswith(settings.namespace)]
    for future in admin.delete_topics(topics, request_timeout=30).values() if topics else []:
        future.result()
    search = OpenSearch(settings.opensearch_url)
    search.indices.delete(index=f"{settings.namespace}-*", ignore_unavailable=True)
    search.close()
    engine = create_engine(sqlalchemy_url(settings.pg_dsn))
    with engine.begin() as conn:
        for schema in [settings.namespace, *namespace_generations(conn, settings.namespace)]:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
