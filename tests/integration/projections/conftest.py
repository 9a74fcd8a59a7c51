"""Fixtures for the projection tests: a namespace that cleans up its generations, a log writer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from projections.postgres.storage import namespace_generations
from skald.services import Services
from tests.integration.projections.log_writer import LogWriter


@pytest.fixture
def log_writer(services: Services) -> LogWriter:
    return LogWriter(services)


@pytest.fixture
def services(services: Services) -> Iterator[Services]:
    """The namespace's services; afterwards also drops its generation schemas, which
    dropping the namespace schema leaves behind (they are schemas of their own)."""
    yield services
    drop_generation_schemas(services)


def drop_generation_schemas(services: Services) -> None:
    with services.engine.begin() as conn:
        for name in namespace_generations(conn, services.settings.pg_schema):
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
