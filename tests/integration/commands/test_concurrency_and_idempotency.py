"""Optimistic concurrency and idempotent retries through the real command path."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from contexts.inventory.aggregates import STOCK
from contexts.sales.aggregates import ORDER
from skald.services import Services
from tests.integration.commands.harness import (
    ProcessFactory,
    SkaldProcess,
    assert_contiguous,
    read_events,
)
from tests.integration.commands.load import ORDER as AN_ORDER

CLIENTS, ATTEMPTS = 20, 50


async def _racing_client(client: httpx.AsyncClient, sku: str) -> Counter[int]:
    statuses: Counter[int] = Counter()
    version = 0
    for _ in range(ATTEMPTS):
        body = {"quantity": 1, "expected_version": version}
        response = await client.post(f"/inventory/{sku}/restock", json=body)
        answer = response.json()
        accepted = response.status_code in (200, 201)  # 201: this command created the stock
        assert accepted or response.status_code == 409, answer
        statuses[200 if accepted else 409] += 1
        version = answer["version"] if accepted else answer["current_version"]
    return statuses


def test_concurrent_writers_of_one_aggregate_never_both_win(
    services: Services, api: SkaldProcess, processor: SkaldProcess
) -> None:
    async def race() -> list[Counter[int]]:
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            return await asyncio.gather(
                *(_racing_client(client, "SKU-RACE") for _ in range(CLIENTS))
            )

    totals = sum(asyncio.run(race()), Counter())
    assert set(totals) <= {200, 409}, totals
    assert totals[200] + totals[409] == CLIENTS * ATTEMPTS
    streams = assert_contiguous(read_events(services.settings, STOCK.events_topic, services.codec))
    assert len(streams["SKU-RACE"]) == totals[200]  # one version per success, no more
    assert totals[409] > 0  # the race really happened


def test_a_stale_expected_version_gets_409_with_the_current_version(
    api: SkaldProcess, processor: SkaldProcess
) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        order_id = client.post("/orders", json=AN_ORDER).json()["order_id"]
        stale = client.post(f"/orders/{order_id}/confirm", json={"expected_version": 0})
        assert stale.status_code == 409
        assert stale.json()["current_version"] == 1
        assert "version 1" in stale.json()["detail"]
        fresh = client.post(f"/orders/{order_id}/confirm", json={"expected_version": 1})
        assert (fresh.status_code, fresh.json()["version"]) == (200, 2)


def test_an_idempotency_key_retry_storm_appends_once(
    services: Services, api: SkaldProcess, processor: SkaldProcess
) -> None:
    async def storm() -> list[tuple[int, dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post("/orders", json=AN_ORDER, headers={"Idempotency-Key": "storm-1"})
                    for _ in range(50)
                )
            )
        return [(r.status_code, r.json()) for r in responses]

    answers = asyncio.run(storm())
    assert {status for status, _ in answers} == {201}
    assert len({str(body) for _, body in answers}) == 1  # the same body, position included
    events = read_events(services.settings, ORDER.events_topic, services.codec)
    assert len(events) == 1


def test_a_key_reused_for_another_request_is_refused(
    api: SkaldProcess, processor: SkaldProcess
) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        first = client.post("/orders", json=AN_ORDER, headers={"Idempotency-Key": "k-1"})
        other = {**AN_ORDER, "customer_id": "someone-else"}
        second = client.post("/orders", json=other, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert second.status_code == 422
    assert "already used" in second.json()["detail"]


def test_idempotent_outcomes_survive_a_processor_restart(
    services: Services, api: SkaldProcess, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    headers = {"Idempotency-Key": "restart-1"}
    with httpx.Client(base_url=api.url, timeout=30) as client:
        first = client.post("/orders", json=AN_ORDER, headers=headers)
        missing = client.post("/orders/no-such/confirm", headers={"Idempotency-Key": "r-404"})
        processor.stop()
        spawn("processor-2", ["process"]).wait_for_log("assigned")
        again = client.post("/orders", json=AN_ORDER, headers=headers)
        missing_again = client.post("/orders/no-such/confirm", headers={"Idempotency-Key": "r-404"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert (missing.status_code, missing_again.status_code) == (404, 404)
    assert len(read_events(services.settings, ORDER.events_topic, services.codec)) == 1
