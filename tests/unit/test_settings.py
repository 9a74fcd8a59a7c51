"""Settings: defaults, environment overrides, namespacing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from skald.services import sqlalchemy_url
from skald.settings import Settings


def test_defaults_point_at_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SKALD_KAFKA_BOOTSTRAP",
        "SKALD_PG_DSN",
        "SKALD_OPENSEARCH_URL",
        "SKALD_NAMESPACE",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.kafka_bootstrap == "localhost:9092"
    assert settings.pg_dsn.endswith("@localhost:5432/skald")
    assert settings.opensearch_url == "http://localhost:9200"
    assert settings.api_port == 8000
    assert settings.topic("sales.order.events") == "sales.order.events"


def test_environment_overrides_and_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKALD_KAFKA_BOOTSTRAP", "broker:19092")
    monkeypatch.setenv("SKALD_NAMESPACE", "t1")
    settings = Settings(_env_file=None)
    assert settings.kafka_bootstrap == "broker:19092"
    assert settings.topic("sales.order.events") == "t1.sales.order.events"
    assert settings.index("orders") == "t1-orders"
    assert settings.pg_schema == "t1"


def test_a_bad_namespace_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKALD_NAMESPACE", "Bad Name!")
    with pytest.raises(ValidationError, match="namespace"):
        Settings(_env_file=None)


def test_dsn_becomes_a_psycopg_url() -> None:
    assert sqlalchemy_url("postgresql://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    with pytest.raises(ValueError, match="SKALD_PG_DSN"):
        sqlalchemy_url("mysql://nope")
