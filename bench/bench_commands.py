"""The HTTP command path with the whole stack running, closed loop and at a fixed offered rate.

`skald run`'s processes (API, command processor, worker, every projector) run in a fresh
namespace (`bench/stack.py`), so the events are consumed as in production. The command is
`POST /inventory/{sku}/restock` (one event, no saga) over `SKUS` SKUs, so the load spreads
over every partition. Closed loop at each of `CLIENTS` for `SECONDS`; then an open loop at
each of `RATES` (latency from the scheduled send: `bench/load.py`). The baseline is the
API's own ceiling, `GET /health` from the same clients. CPU per command is what Skald's
processes used (from /proc; the broker is shared and not counted).
"""

from __future__ import annotations

import asyncio
import os
import time

import aiohttp

from bench.load import Answer, Load, Request, closed_loop, open_loop
from bench.result import Result
from bench.stack import Stack, running_stack
from skald.settings import Settings

CLIENTS = [int(c) for c in os.environ.get("SKALD_BENCH_COMMAND_CLIENTS", "16,64,256").split(",")]
RATES = [float(r) for r in os.environ.get("SKALD_BENCH_COMMAND_RATES", "250,500").split(",")]
SECONDS = float(os.environ.get("SKALD_BENCH_COMMAND_SECONDS", "15"))
SKUS = 256
SATURATION_FLOOR = 1000.0  # commands/s
P99_RATE, P99_FLOOR = 500.0, 100.0  # p99 ≤ 100 ms at 500 commands/s offered
# Between runs, until Skald's processes and the local services use under QUIET_CPU of a core
# (at most SETTLE_SECONDS): projectors catching up on the last run's events, or a broker still
# deleting an earlier bench's topics, would otherwise slow the next one.
SETTLE_SECONDS, QUIET_CPU = 30.0, 0.35


def _restock(url: str) -> Request:
    def request(http: aiohttp.ClientSession, n: int) -> Answer:
        return http.post(f"{url}/inventory/SKU-BENCH-{n % SKUS}/restock", json={"quantity": 1})

    return request


def _health(url: str) -> Request:
    def request(http: aiohttp.ClientSession, n: int) -> Answer:
        return http.get(f"{url}/health")

    return request


async def _ready(url: str, timeout: float = 120.0) -> None:
    """Wait until a restock is accepted: the API, the processor and its partitions are up."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with _restock(url)(http, 0) as response:
                    if response.status < 300:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the command path never answered")


def _cpu_row(name: str, stack: Stack, before: dict[str, float], load: Load) -> Result:
    """Skald's CPU per accepted command during a run, in total and by role."""
    after = stack.cpu_seconds()
    count = max(len(load.latencies), 1)
    by_role = {role: (after[role] - before.get(role, 0.0)) * 1000 / count for role in after}
    parts = ", ".join(f"{role} {ms:.2f}" for role, ms in sorted(by_role.items()))
    return Result(f"{name}: Skald CPU per command ({parts})", sum(by_role.values()), "ms")


def _rows(name: str, stack: Stack, before: dict[str, float], load: Load) -> list[Result]:
    failed = f", {sum(load.failures.values())} failed" if load.failures else ""
    return [
        Result(f"{name}: throughput{failed}", load.rate, "commands/s", notes=load.summary()),
        Result(f"{name}: p50", load.percentile_ms(50), "ms"),
        Result(f"{name}: p99", load.percentile_ms(99), "ms"),
        _cpu_row(name, stack, before, load),
    ]


def _closed(stack: Stack, clients: int) -> tuple[list[Result], Load]:
    before = stack.cpu_seconds()
    load = asyncio.run(closed_loop(_restock(stack.url), clients, SECONDS))
    return _rows(f"restock, closed loop {clients} clients", stack, before, load), load


def _open(stack: Stack, rate: float) -> list[Result]:
    before = stack.cpu_seconds()
    load = asyncio.run(open_loop(_restock(stack.url), rate, SECONDS))
    rows = _rows(f"restock, open loop {rate:,.0f}/s offered", stack, before, load)
    if rate == P99_RATE:  # the floor, printed beside the number
        p99 = rows[2]
        rows[2] = Result(
            p99.name, p99.value, "ms", target=f"≤ {P99_FLOOR:,.0f}", met=p99.value <= P99_FLOOR
        )
    return rows


def _settle(stack: Stack) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS

    def used() -> float:
        return sum(stack.cpu_seconds().values()) + sum(stack.service_cpu_seconds().values())

    now = used()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        previous, now = now, used()
        if now - previous < QUIET_CPU:
            return


def _measure(stack: Stack) -> list[Result]:
    asyncio.run(_ready(stack.url))
    asyncio.run(closed_loop(_restock(stack.url), 16, 3.0))  # warm up every partition
    health = asyncio.run(closed_loop(_health(stack.url), max(CLIENTS), min(SECONDS, 5.0)))
    results: list[Result] = []
    for rate in RATES:  # first: the closed loops' saturation leaves work behind
        _settle(stack)
        results += _open(stack, rate)
    best = 0.0
    for clients in CLIENTS:
        _settle(stack)
        rows, load = _closed(stack, clients)
        results += rows
        best = max(best, load.rate)
    saturation = Result(
        f"restock at saturation (best closed loop of {', '.join(map(str, CLIENTS))} clients)",
        best,
        "commands/s",
        baseline_name=f"GET /health, {max(CLIENTS)} clients",
        baseline_value=health.rate,
        target=f"≥ {SATURATION_FLOOR:,.0f}",
        met=best >= SATURATION_FLOOR,
    )
    return [saturation, *results]


def run(settings: Settings) -> list[Result]:
    """Commands/s and p50/p99 of the command path beside the API's own HTTP ceiling."""
    with running_stack(settings, 18000 + os.getpid() % 1000) as stack:
        return _measure(stack)
