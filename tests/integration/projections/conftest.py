"""Fixtures for the projection tests: a dead-letter-aware namespace and a log writer."""

from __future__ import annotations

import pytest

from skald.services import Services
from tests.integration.projections.log_writer import LogWriter


@pytest.fixture
def log_writer(services: Services) -> LogWriter:
    return LogWriter(services)
