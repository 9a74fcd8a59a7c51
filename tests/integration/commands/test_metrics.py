"""Prometheus metrics: the API's command outcomes and latency, a projector's progress."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.integration.commands.harness import ProcessFactory, SkaldProcess
from tests.integration.commands.load import ORDER
from tests.integration.running_service import free_port


def _scrape(url: str, wanted: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            text = httpx.get(url, timeout=2, follow_redirects=True).text
        except httpx.HTTPError:
            text = ""
        if wanted in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{wanted!r} not in {url} within {timeout} s:\n{text[-2000:]}")


def test_the_api_and_projectors_expose_prometheus_metrics(
    api: SkaldProcess,
    processor: SkaldProcess,
    spawn: ProcessFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    metrics_port = free_port()
    monkeypatch.setenv("SKALD_METRICS_PORT", str(metrics_port))
    spawn("projector", ["project", "sales.orders"]).wait_for_log("assigned")
    with httpx.Client(base_url=api.url, timeout=30) as client:
        assert client.post("/orders", json=ORDER).status_code == 201
        assert client.post("/orders/missing/confirm").status_code == 404

    scraped = _scrape(f"{api.url}/metrics", 'skald_commands_total{aggregate="order",status="404"}')
    assert 'skald_commands_total{aggregate="order",status="201"} 1.0' in scraped
    assert 'skald_command_seconds_count{aggregate="order"} 2.0' in scraped
    _scrape(
        f"http://127.0.0.1:{metrics_port}/metrics",
        'skald_projection_events_applied_total{projection="sales.orders"} 1.0',
    )


def test_the_command_processor_and_saga_worker_expose_prometheus_metrics(
    api: SkaldProcess, spawn: ProcessFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    processor_port, worker_port = free_port(), free_port()
    monkeypatch.setenv("SKALD_METRICS_PORT", str(processor_port))
    spawn("metered-processor", ["process"]).wait_for_log("assigned")
    monkeypatch.setenv("SKALD_METRICS_PORT", str(worker_port))
    spawn("metered-worker", ["worker"]).wait_for_log("Ready", timeout=90)
    with httpx.Client(base_url=api.url, timeout=30) as client:
        assert client.post("/orders", json=ORDER).status_code == 201
        assert client.post("/orders/missing/confirm").status_code == 404

    processor = f"http://127.0.0.1:{processor_port}/metrics"
    scraped = _scrape(
        processor, 'skald_processor_commands_total{aggregate="order",outcome="rejected"}'
    )
    assert 'skald_processor_commands_total{aggregate="order",outcome="accepted"}' in scraped
    assert 'skald_processor_events_total{aggregate="order"}' in scraped
    assert 'skald_processor_transactions_total{aggregate="order",result="committed"}' in scraped
    # The placed order starts a saga, whose first step is reserving its stock.
    _scrape(
        f"http://127.0.0.1:{worker_port}/metrics",
        'skald_saga_transitions_total{phase="reserving"} 1.0',
        timeout=60,
    )
