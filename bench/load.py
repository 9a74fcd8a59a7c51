"""HTTP load for benchmarks: a closed loop of N clients, or an open loop at a fixed rate.

Closed loop: each client sends its next request as soon as the last one is answered, so the
rate is what the system sustains at that concurrency. Open loop: request k leaves at
begin + k / rate however slow the answers are, and its latency counts from that scheduled
time, so a system that falls behind can't hide its queue (no coordinated omission). A
request that fails (not 2xx, or no answer) counts as infinitely slow in the percentiles.

The generator runs with its garbage collector off (`no_collector_pauses`): it shares the
machine and its pauses would be counted as Skald's latency.
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field

import aiohttp

# (session, sequence number) -> the request to send; aiohttp, not httpx: httpx's async
# client tops out near 130 requests/s here, which would measure the client.
Answer = AbstractAsyncContextManager[aiohttp.ClientResponse]
Request = Callable[[aiohttp.ClientSession, int], Answer]


@dataclass
class Load:
    """What one load run saw: each answered request's latency, and what failed."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile in ms, failures counted as infinitely slow."""
        ordered = sorted(self.latencies) + [math.inf] * sum(self.failures.values())
        if not ordered:
            return math.nan
        return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)] * 1000

    def summary(self) -> str:
        """The failures in a few words, for a result's notes."""
        return ", ".join(f"{what}: {n}" for what, n in self.failures.most_common()) or "none"


async def _send(
    http: aiohttp.ClientSession, request: Request, n: int, since: float, load: Load
) -> None:
    try:
        async with request(http, n) as response:
            await response.read()
            ok = 200 <= response.status < 300
            what = str(response.status)
    except (aiohttp.ClientError, TimeoutError) as error:
        ok, what = False, type(error).__name__
    if ok:
        load.latencies.append(time.perf_counter() - since)
    else:
        load.failures[what] += 1


@contextmanager
def no_collector_pauses() -> Iterator[None]:
    """No garbage collection in the generator during a run, one after it.

    An open loop at 500/s keeps 7,500 tasks, their coroutines and aiohttp's objects alive;
    one full collection of them took 100-123 ms here, once per 15 s run. Every request in
    flight waited through it and the pause was counted as Skald's latency: p99 at 500/s
    was 74-110 ms with it, 58-68 ms without it. A run's garbage is mostly acyclic (freed by
    reference counting), so what builds up in 15 s is small.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _session(limit: int) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(total=30)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), timeout=timeout)


async def closed_loop(request: Request, clients: int, seconds: float) -> Load:
    """`clients` clients sending back to back for `seconds`."""
    load = Load()
    counter = iter(range(1 << 62))
    begin = time.perf_counter()
    stop_at = begin + seconds

    async def client(http: aiohttp.ClientSession) -> None:
        while time.perf_counter() < stop_at:
            await _send(http, request, next(counter), time.perf_counter(), load)

    with no_collector_pauses():
        async with _session(clients) as http:
            await asyncio.gather(*(client(http) for _ in range(clients)))
    load.seconds = time.perf_counter() - begin
    return load


async def open_loop(request: Request, rate: float, seconds: float) -> Load:
    """`rate` requests per second for `seconds`, each timed from its scheduled send."""
    load = Load()
    tasks: list[asyncio.Task[None]] = []
    with no_collector_pauses():
        async with _session(0) as http:  # no connection cap: a cap would queue in the client
            begin = time.perf_counter()
            for k in range(int(rate * seconds)):
                scheduled = begin + k / rate
                await asyncio.sleep(max(scheduled - time.perf_counter(), 0))
                tasks.append(asyncio.create_task(_send(http, request, k, scheduled, load)))
            await asyncio.gather(*tasks)
            load.seconds = time.perf_counter() - begin
    return load
