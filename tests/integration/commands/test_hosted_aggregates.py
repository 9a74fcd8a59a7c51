"""A processor that keeps only two aggregates per partition decoded in memory still decides
every command against each aggregate's committed state, before and after a kill -9: the
others are read back from its local store, which a restore fills from the state topic."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from contexts.sales.aggregates import ORDER
from skald.services import Services
from tests.integration.commands.harness import (
    ProcessFactory,
    SkaldProcess,
    assert_contiguous,
    read_events,
)
from tests.integration.commands.load import ORDER as AN_ORDER

ORDERS = 40
SMALL_CACHE = {"SKALD_PROCESSOR_CACHED_AGGREGATES": "2"}


async def _each(url: str, paths: list[str], body: Mapping[str, object]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        return await asyncio.gather(*(client.post(path, json=body) for path in paths))


def _place_orders(url: str) -> list[str]:
    placed = asyncio.run(_each(url, ["/orders"] * ORDERS, AN_ORDER))
    assert {r.status_code for r in placed} == {201}, [r.text for r in placed]
    return [r.json()["order_id"] for r in placed]


def _versions(url: str, order_ids: list[str], action: str, expected: int) -> list[int]:
    paths = [f"/orders/{order_id}/{action}" for order_id in order_ids]
    answers = asyncio.run(_each(url, paths, {"expected_version": expected}))
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    return [r.json()["version"] for r in answers]


def test_aggregates_beyond_the_cache_are_decided_from_their_committed_state(
    services: Services, api: SkaldProcess, spawn: ProcessFactory
) -> None:
    processor = spawn("processor", ["process"], SMALL_CACHE)
    processor.wait_for_log("assigned")
    order_ids = _place_orders(api.url)
    # A processor that forgot an evicted order would answer 404 (no such order) or 409.
    assert _versions(api.url, order_ids, "confirm", expected=1) == [2] * ORDERS

    processor.kill()
    restarted = spawn("processor-2", ["process"], SMALL_CACHE)
    restarted.wait_for_log("assigned")
    assert _versions(api.url, order_ids, "ship", expected=2) == [3] * ORDERS
    with httpx.Client(base_url=api.url, timeout=30) as client:
        again = client.post(f"/orders/{order_ids[0]}/cancel", json={})
        assert again.status_code == 409, again.text  # shipped: read back from disk
        assert client.post("/orders/never-placed/confirm", json={}).status_code == 404

    streams = assert_contiguous(read_events(services.settings, ORDER.events_topic, services.codec))
    assert all(len(streams[order_id]) == 3 for order_id in order_ids)
