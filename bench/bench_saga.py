"""The fulfillment saga end to end: POST /orders -> OrderConfirmed, throughput and p50/p99."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field

import aiohttp
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.processes import spawn_skald
from bench.result import Result
from contexts.sales.aggregates import ORDER
from eventstore import kafka_config
from skald.provision import apply_topic_specs, create_read_models
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings

CLIENTS = 16
SAGAS = int(os.environ.get("SKALD_BENCH_SAGAS", "1000"))
SKU = "SKU-SAGA"
BODY = {
    "customer_id": "bench",
    "items": [{"sku": SKU, "name": "Bench beans", "quantity": 1, "unit_price_cents": 100}],
}
CONFIRMED = b"sales.order.OrderConfirmed"
CONFIRM_SECONDS = 120.0  # a saga not confirmed by then fails the run


class Confirmations:
    """Watches the order events for OrderConfirmed: when each order's arrived (perf_counter)."""

    def __init__(self, settings: Settings) -> None:
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        topic = settings.topic(ORDER.events_topic)
        self._consumer = Consumer(
            {
                **kafka_config.reader_config(
                    settings.kafka_connection(), settings.group("skald.reader")
                ),
                "enable.partition.eof": False,
            }
        )
        partitions = self._consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self._consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            # `consume(500, timeout)` waits out its whole timeout unless 500 arrive: the first
            # record comes from `poll`, which returns at once, so no time is added to a saga.
            first = self._consumer.poll(0.2)
            if first is None:
                continue
            for m in [first, *self._consumer.consume(500, timeout=0)]:
                if m.error() is None and dict(m.headers() or ()).get("ce_type") == CONFIRMED:
                    self.seen[(m.key() or b"").decode()] = time.perf_counter()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


@dataclass
class Placed:
    """When each accepted order's request started, and how often the door said no."""

    started: dict[str, float] = field(default_factory=dict)
    refused: int = 0
    waited: list[float] = field(default_factory=list)  # each Retry-After waited out


async def _place(url: str, count: int, confirmations: Confirmations) -> Placed:
    """`count` orders from CLIENTS clients, each waiting for its order's confirmation before
    placing the next: a closed loop of sagas, so the work in flight stays at CLIENTS and the
    door has no reason to refuse. If it does (429/503), the client waits the `Retry-After` it
    was given and asks again, and the refusal is counted."""
    placed = Placed()
    remaining = iter(range(count))

    async def client(http: aiohttp.ClientSession) -> None:
        for _ in remaining:
            while True:
                began = time.perf_counter()
                async with http.post(f"{url}/orders", json=BODY) as response:
                    body = await response.json()
                    retry_after = response.headers.get("Retry-After")
                if response.status not in (429, 503):
                    break
                placed.refused += 1
                placed.waited.append(float(retry_after or 1))
                await asyncio.sleep(placed.waited[-1])
            assert response.status == 201, body
            placed.started[body["order_id"]] = began
            deadline = time.monotonic() + CONFIRM_SECONDS
            while body["order_id"] not in confirmations.seen:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"order {body['order_id']} not confirmed in time")
                await asyncio.sleep(0.005)

    # Idle connections close before the API's keep-alive (uvicorn: 5 s) drops them under a
    # client that waited out a Retry-After.
    connector = aiohttp.TCPConnector(limit=CLIENTS, keepalive_timeout=2)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    return placed


async def _ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                restock = {"quantity": SAGAS * 2 + 100}
                async with http.post(f"{url}/inventory/{SKU}/restock", json=restock) as response:
                    if response.status < 300:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the API never answered")


def run(settings: Settings) -> list[Result]:
    """Sagas completed per second and their completion time, one worker, a closed loop of 16
    clients each waiting for its saga."""
    namespaced = settings.model_copy(update={"namespace": f"bench{uuid.uuid4().hex[:6]}"})
    services = Services(namespaced, CONTEXTS)
    apply_topic_specs(services)
    create_read_models(services)
    port = 18000 + os.getpid() % 1000 + 1
    env = {
        **os.environ,
        "SKALD_KAFKA_BOOTSTRAP": namespaced.kafka_bootstrap,
        "SKALD_NAMESPACE": namespaced.namespace,
        "SKALD_API_PORT": str(port),
        "SKALD_LOG_LEVEL": "WARNING",
    }
    processes = [
        spawn_skald(["api"], env),
        spawn_skald(["process"], env),
        spawn_skald(["worker"], env),
    ]
    url = f"http://127.0.0.1:{port}"
    confirmations = Confirmations(namespaced)
    try:
        asyncio.run(_ready(url))
        asyncio.run(_place(url, 20, confirmations))  # and the worker has its partitions
        began = time.perf_counter()
        placed = asyncio.run(_place(url, SAGAS, confirmations))
        started = placed.started  # each confirmed before its client went on
        elapsed = max(confirmations.seen[o] for o in started) - began
    finally:
        confirmations.close()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()  # a worker still draining after 30 s: the numbers are in
                process.wait(10)
        services.close()
    times = [confirmations.seen[o] - s for o, s in started.items()]
    p50, p99 = (statistics.quantiles(times, n=100)[i] * 1000 for i in (49, 98))
    name = f"saga POST /orders -> OrderConfirmed, {SAGAS} orders, {CLIENTS} clients"
    longest = max(placed.waited, default=0.0)
    refused = (
        f"{placed.refused} refusals at the door, each retried after its Retry-After "
        f"({sum(placed.waited):.0f} s waited in all, the longest {longest:.0f} s)"
    )
    return [
        Result(f"{name}: throughput", SAGAS / elapsed, "sagas/s", notes=refused),
        Result(f"{name}: p50 completion", p50, "ms"),
        Result(f"{name}: p99 completion", p99, "ms"),
    ]
