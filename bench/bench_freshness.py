"""Freshness through the real command path: how soon an accepted command is in a read model.

`skald run`'s processes run in a fresh namespace (`bench/stack.py`): the API, the
transactional command processor and every projector with its production consumer settings.
Commands (`POST /inventory/{sku}/restock`, one event, no saga) leave at a fixed offered rate
(`RATE` per second for `SECONDS`); each one's freshness counts from its scheduled send until
the `inventory.stock-levels` checkpoint in PostgreSQL has passed the position its reply
carries (polled every few ms). The baseline is a bare consumer with the projector's consumer
settings (read_committed, so it waits for the same commit markers) seeing the same event.
A command that fails counts as never fresh (infinitely slow in the percentiles).
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
import uuid

import aiohttp
from confluent_kafka import Consumer, TopicPartition

from bench.load import no_collector_pauses
from bench.result import Result
from bench.stack import Stack, running_stack
from eventstore import kafka_config
from eventstore.position import Position
from skald.settings import Settings

RATE = float(os.environ.get("SKALD_BENCH_FRESHNESS_RATE", "500"))
SECONDS = float(os.environ.get("SKALD_BENCH_FRESHNESS_SECONDS", "20"))
P99_FLOOR_MS = 250.0
PROJECTION = "inventory.stock-levels"
SKUS = 256

Sent = dict[int, tuple[float, Position | None]]  # command -> (scheduled send, its position)


async def _ready(url: str, timeout: float = 120.0) -> None:
    """Wait until a restock is accepted: the API, the processor and its partitions are up."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.post(
                    f"{url}/inventory/SKU-FRESH-0/restock", json={"quantity": 1}
                ) as response:
                    if response.status < 300:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the command path never answered")


async def _offer(url: str, sent: Sent) -> None:
    """RATE restocks a second for SECONDS, each one's position kept beside its schedule."""

    async def one(http: aiohttp.ClientSession, k: int, scheduled: float) -> None:
        position = None
        try:
            sku = f"SKU-FRESH-{k % SKUS}"
            async with http.post(
                f"{url}/inventory/{sku}/restock", json={"quantity": 1}
            ) as response:
                if response.status < 300:
                    position = Position.from_token((await response.json())["position"])
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError):
            pass
        sent[k] = (scheduled, position)

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as http:
        tasks = []
        begin = time.perf_counter()
        for k in range(int(RATE * SECONDS)):
            scheduled = begin + k / RATE
            await asyncio.sleep(max(scheduled - time.perf_counter(), 0))
            tasks.append(asyncio.create_task(one(http, k, scheduled)))
        await asyncio.gather(*tasks)


class Watch:
    """Threads recording when each position became visible: in the read model's checkpoints,
    and to a bare consumer with the projector's consumer settings (the baseline)."""

    def __init__(self, stack: Stack) -> None:
        services = stack.services
        self._sink = services.sink(PROJECTION)
        topics = services.projection_topics(PROJECTION)
        partitions = services.settings.topic_partitions
        self._keys = [(topic, p) for topic in topics for p in range(partitions)]
        config = kafka_config.consumer_config(
            services.settings.kafka_connection(),
            services.settings.group(f"bench.fresh.{uuid.uuid4().hex}"),
        )
        self._probe = Consumer(config)
        self._probe.assign([TopicPartition(t, p, -1) for t, p in self._keys])  # from the end
        self.checkpoints: list[tuple[float, dict[tuple[str, int], int]]] = []
        self.consumed: dict[tuple[str, int, int], float] = {}
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll_checkpoints, daemon=True),
            threading.Thread(target=self._consume, daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._probe.close()

    def _poll_checkpoints(self) -> None:
        while not self._stop.is_set():
            stored = self._sink.stored_offsets(self._keys)
            self.checkpoints.append((time.perf_counter(), stored))
            time.sleep(0.002)

    def _consume(self) -> None:
        while not self._stop.is_set():
            for message in self._probe.consume(500, timeout=0.05):
                if message.error() is None:
                    key = (message.topic() or "", message.partition() or 0, message.offset() or 0)
                    self.consumed[key] = time.perf_counter()

    def visible_at(self, position: Position) -> float:
        key = (position.topic, position.partition)
        return next(
            (at for at, stored in self.checkpoints if stored.get(key, 0) > position.offset),
            math.inf,
        )

    def consumed_at(self, position: Position) -> float:
        return self.consumed.get((position.topic, position.partition, position.offset), math.inf)

    def caught_up(self, positions: list[Position]) -> bool:
        if not self.checkpoints:
            return False
        stored = self.checkpoints[-1][1]
        return all(stored.get((p.topic, p.partition), 0) > p.offset for p in positions)


def _percentile_ms(values: list[float], pct: float) -> float:
    """Nearest rank, in ms (math.inf for never)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(pct / 100 * len(ordered)) - 1, 0)] * 1000 if ordered else math.nan


def _measure(stack: Stack) -> list[Result]:
    asyncio.run(_ready(stack.url))
    watch = Watch(stack)
    watch.start()
    time.sleep(3)  # the probe at the end of every partition
    sent: Sent = {}
    cpu = stack.cpu_seconds()
    with no_collector_pauses():  # a pause here would delay the sends and the watch alike
        asyncio.run(_offer(stack.url, sent))
    positions = [p for _at, p in sent.values() if p is not None]
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and not watch.caught_up(positions):
        time.sleep(0.1)
    used = stack.cpu_seconds()
    watch.stop()
    fresh = [watch.visible_at(p) - at if p else math.inf for at, p in sent.values()]
    bare = [watch.consumed_at(p) - at if p else math.inf for at, p in sent.values()]
    behind = [
        watch.visible_at(p) - watch.consumed_at(p)
        for _at, p in sent.values()
        if p is not None and watch.consumed_at(p) < math.inf
    ]
    accepted = len(positions)
    per_role = {role: (used[role] - cpu.get(role, 0.0)) * 1e6 / max(accepted, 1) for role in used}
    roles = ", ".join(f"{role} {us:,.0f}" for role, us in sorted(per_role.items()))
    offered = f"{RATE:,.0f} commands/s offered for {SECONDS:g} s"
    p99 = _percentile_ms(fresh, 99)
    return [
        Result(
            f"freshness p50, {offered}",
            _percentile_ms(fresh, 50),
            "ms",
            "bare read_committed consumer p50",
            _percentile_ms(bare, 50),
            target="-",
            notes=f"{accepted}/{len(sent)} accepted",
            cpu_us=sum(per_role.values()),
        ),
        Result(
            f"freshness p99, {offered}",
            p99,
            "ms",
            "bare read_committed consumer p99",
            _percentile_ms(bare, 99),
            target=f"<= {P99_FLOOR_MS:,.0f} ms",
            met=p99 <= P99_FLOOR_MS,
            notes=f"Skald CPU µs per command: {roles}",
            cpu_us=sum(per_role.values()),
        ),
        Result(
            "freshness p50 minus the bare consumer's (the projector's own share)",
            _percentile_ms(behind, 50),
            "ms",
            target="-",
        ),
        Result(
            "freshness p99 minus the bare consumer's (the projector's own share)",
            _percentile_ms(behind, 99),
            "ms",
            target="-",
        ),
    ]


def run(settings: Settings) -> list[Result]:
    """Freshness p50/p99 through the API and the transactional processor."""
    with running_stack(settings, 19000 + os.getpid() % 1000) as stack:
        return _measure(stack)
