"""A flash sale: a burst of orders, then no load (invariant 10); and a fixed offered rate.

The whole stack as `skald run` starts it runs in a fresh namespace (`bench/stack.py`); one SKU
is restocked with 1,000,000 units, so no order may fail for stock. Burst: `CLIENTS` aiohttp
clients (closed loop, default 256) `POST /orders` for `SECONDS` (default 20). A refused answer
(429/503, with `Retry-After`) is counted and the client moves on to its next order: no retries
here. Then no load: wait (at most 10 min) until every accepted order is `OrderShipped` or
`OrderCancelled`, read why sagas cancelled from their changelog (a reason starting "timed out"
means Skald's own queues made a step miss its deadline), count re-sent saga commands (records
minus distinct `saga:` idempotency keys), count the records the saga's topics gain in 10 s of
quiet, and time one fresh order to `OrderShipped`. Sustained: an open loop offering `RATE`
orders/s (default 100) for `SUSTAINED_SECONDS` (default 20); each order's completion counts
from its scheduled send, so a system that falls behind can't hide its queue. Saturated: the
same open loop above capacity (`SATURATED_RATE`, default 300/s, for `SATURATED_SECONDS`,
default 30): the door refuses what can't finish in time, and the sagas completed per second,
from the first request until the last accepted order is final, are what the stack sustains
(issue 9's floor).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from bench.burst_watch import Watcher, saga_traffic
from bench.result import Result
from bench.stack import Stack, running_stack
from skald.settings import Settings

SECONDS = float(os.environ.get("SKALD_BENCH_BURST_SECONDS", "20"))
CLIENTS = int(os.environ.get("SKALD_BENCH_BURST_CLIENTS", "256"))
RATE = float(os.environ.get("SKALD_BENCH_SUSTAINED_RATE", "100"))
SUSTAINED_SECONDS = float(os.environ.get("SKALD_BENCH_SUSTAINED_SECONDS", "20"))
SATURATED_RATE = float(os.environ.get("SKALD_BENCH_SATURATED_RATE", "300"))
SATURATED_SECONDS = float(os.environ.get("SKALD_BENCH_SATURATED_SECONDS", "30"))
BENCH_CPU = "bench"  # the `used` entry for this process's own cores, not a stack role
DRAIN_SECONDS = 600.0  # most we wait for the burst's orders to become final
QUIET_SECONDS = 10.0
FRESH_SECONDS = 30.0
SKU = "SKU-BURST"
BODY = {
    "customer_id": "bench",
    "items": [{"sku": SKU, "name": "Flash-sale beans", "quantity": 1, "unit_price_cents": 100}],
}


@dataclass
class Answers:
    """How `POST /orders` answered: accepted orders with their start time (epoch seconds)."""

    accepted: dict[str, float] = field(default_factory=dict)
    refused: int = 0
    refused_without_retry_after: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    open: list[str] = field(default_factory=list)  # accepted, not final when we stopped waiting


async def _place(http: aiohttp.ClientSession, url: str, answers: Answers, started: float) -> None:
    """One order; its answer recorded, never retried."""
    try:
        async with http.post(f"{url}/orders", json=BODY) as response:
            body = await response.read()
            status, retry_after = response.status, response.headers.get("Retry-After")
    except (aiohttp.ClientError, TimeoutError) as exc:
        answers.errors[type(exc).__name__] += 1
        return
    if status == 201:
        answers.accepted[json.loads(body)["order_id"]] = started
    elif status in (429, 503):
        answers.refused += 1
        answers.refused_without_retry_after += retry_after is None
    else:
        answers.errors[str(status)] += 1


def _session(limit: int) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(total=60)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), timeout=timeout)


async def _burst(url: str, clients: int, seconds: float) -> Answers:
    """Closed loop: each client sends its next order as soon as the last one is answered."""
    answers = Answers()
    stop_at = time.monotonic() + seconds

    async def client(http: aiohttp.ClientSession) -> None:
        while time.monotonic() < stop_at:
            await _place(http, url, answers, time.time())

    async with _session(clients) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return answers


async def _offered(url: str, rate: float, seconds: float) -> Answers:
    """Open loop: order k leaves at begin + k/rate however slow the answers are; its start is
    that scheduled time."""
    answers = Answers()
    begin = time.time()
    async with _session(0) as http:  # no connection cap: a cap would queue in the client
        tasks = []
        for k in range(int(rate * seconds)):
            scheduled = begin + k / rate
            await asyncio.sleep(max(scheduled - time.time(), 0))
            tasks.append(asyncio.create_task(_place(http, url, answers, scheduled)))
        await asyncio.gather(*tasks)
    return answers


async def _ready(url: str, timeout: float = 120.0) -> None:
    """Wait for the API, restocking the SKU with 1,000,000 units as its first command."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                restock = {"quantity": 1_000_000}
                async with http.post(f"{url}/inventory/{SKU}/restock", json=restock) as response:
                    if response.status < 300:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("the API never answered")


def _one_order(url: str, watcher: Watcher, timeout: float) -> float | None:
    """Seconds from request to OrderShipped for one order, or None if it did not ship in time."""
    answers = Answers()
    started = time.time()

    async def place() -> None:
        async with _session(1) as http:
            await _place(http, url, answers, started)

    asyncio.run(place())
    if not answers.accepted or watcher.wait_final(list(answers.accepted), timeout):
        return None
    shipped = watcher.seen.shipped.get(next(iter(answers.accepted)))
    return None if shipped is None else shipped - started


def _percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99 in ms (nan when empty)."""
    if len(values) < 2:
        return (values[0] * 1000,) * 2 if values else (float("nan"),) * 2
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def _burst_rows(
    watcher: Watcher, answers: Answers, began: float, ended: float, open_: list[str]
) -> list[Result]:
    seen, accepted = watcher.seen, answers.accepted
    finals = [seen.final(o) for o in accepted]
    last = max((f for f in finals if f is not None), default=ended)
    shipped = [seen.shipped[o] - s for o, s in accepted.items() if o in seen.shipped]
    cancelled = sum(o in seen.cancelled for o in accepted)
    resent = seen.saga_commands - len(seen.saga_keys)
    p50, p99 = _percentiles(shipped)
    name = f"burst {CLIENTS} clients x {SECONDS:g} s"
    refused_note = f"{answers.refused_without_retry_after} without Retry-After"
    return [
        Result(f"{name}: orders accepted", len(accepted), "orders", notes=f"{cancelled} cancelled"),
        Result(
            f"{name}: refused at the door (429/503)", answers.refused, "orders", notes=refused_note
        ),
        Result(
            f"{name}: cancelled for timeouts",
            seen.timed_out(),
            "orders",
            target="0",
            met=seen.timed_out() == 0 and not open_,
            notes=f"{len(open_)} not final after {DRAIN_SECONDS:g} s" if open_ else "",
        ),
        Result(
            f"{name}: errors",
            sum(answers.errors.values()),
            "answers",
            notes=str(dict(answers.errors)),
        ),
        Result(
            f"{name}: until every order is final",
            last - ended,
            "s after the burst",
            notes=f"{len(open_)} still open" if open_ else "",
        ),
        Result(
            f"{name}: re-sent saga commands",
            100 * resent / max(seen.saga_commands, 1),
            "% of commands",
            notes=f"{resent:,} of {seen.saga_commands:,}",
        ),
        Result(f"{name}: p50 completion (request -> OrderShipped)", p50, "ms"),
        Result(f"{name}: p99 completion (request -> OrderShipped)", p99, "ms"),
        Result(
            f"{name}: completed sagas/s (first request -> last final)",
            len(shipped) / max(last - began, 1e-9),
            "sagas/s",
            target=">= 200 sagas/s",
            met=len(shipped) / max(last - began, 1e-9) >= 200,
        ),
    ]


def _after_rows(left: int, quiet: int, fresh: float | None) -> list[Result]:
    return [
        Result(
            "after the burst: stats order-lines entries left",
            left,
            "keys",
            target="0 (every order final)",
            met=left == 0,
            notes="live keys in the sales_stats_order_lines changelog (invariant 11)",
        ),
        Result(
            "after the burst: saga traffic once all final",
            quiet / QUIET_SECONDS,
            "messages/s",
            target="~0",
            met=quiet == 0,
            notes=f"{quiet} records on commands, inbox, replies in {QUIET_SECONDS:g} s",
        ),
        Result(
            "after the burst: a fresh order ships",
            fresh if fresh is not None else float("nan"),
            "s",
            target=f"<= {FRESH_SECONDS:g} s",
            met=fresh is not None,
        ),
    ]


def _notes(answers: Answers) -> str:
    return (
        f"{len(answers.accepted)} accepted, {answers.refused} refused, "
        f"{sum(answers.errors.values())} errors, {len(answers.open)} not final"
    )


def _sustained_rows(watcher: Watcher, answers: Answers) -> list[Result]:
    seen, accepted = watcher.seen, answers.accepted
    shipped = {o: seen.shipped[o] for o in accepted if o in seen.shipped}
    times = [shipped[o] - s for o, s in accepted.items() if o in shipped]
    first = min(accepted.values(), default=0.0)
    rate = len(shipped) / max(max(shipped.values(), default=first) - first, 1e-9)
    p50, p99 = _percentiles(times)
    name = f"sustained {RATE:g} orders/s offered x {SUSTAINED_SECONDS:g} s"
    return [
        Result(f"{name}: completed sagas/s", rate, "sagas/s", notes=_notes(answers)),
        Result(
            f"{name}: p50 completion (scheduled send -> OrderShipped)",
            p50,
            "ms",
            target="<= 1,000 ms",
            met=p50 <= 1000 and not answers.open,
        ),
        Result(f"{name}: p99 completion (scheduled send -> OrderShipped)", p99, "ms"),
    ]


def _measure(stack: Stack, watcher: Watcher) -> list[Result]:
    """Burst, drain, quiet, fresh order, then the sustained offered rate, then above capacity."""
    url = stack.url
    asyncio.run(_ready(url))
    if _one_order(url, watcher, timeout=180) is None:  # every process has its partitions
        raise RuntimeError("the warm-up order never shipped")
    began = time.time()
    answers = asyncio.run(_burst(url, CLIENTS, SECONDS))
    ended = time.time()
    open_ = watcher.wait_final(list(answers.accepted), DRAIN_SECONDS)
    results = _burst_rows(watcher, answers, began, ended, open_)
    watcher.wait_sagas(list(answers.accepted), timeout=60)  # OrderShipped precedes DONE
    before = saga_traffic(stack.services)
    time.sleep(QUIET_SECONDS)
    quiet = saga_traffic(stack.services) - before
    left = len(watcher.seen.order_lines)  # after 10 s of quiet: the stats agent is done
    results += _after_rows(left, quiet, _one_order(url, watcher, FRESH_SECONDS))
    offered, used = _offered_run(stack, watcher, RATE, SUSTAINED_SECONDS)
    results += [*_sustained_rows(watcher, offered), _cpu_row(f"sustained {RATE:g}", used, offered)]
    began = time.time()
    saturated, used = _offered_run(stack, watcher, SATURATED_RATE, SATURATED_SECONDS)
    return [
        *results,
        _saturated_row(watcher, saturated, began),
        _cpu_row(f"saturated {SATURATED_RATE:g}", used, saturated, floor=True),
    ]


def _offered_run(
    stack: Stack, watcher: Watcher, rate: float, seconds: float
) -> tuple[Answers, dict[str, float]]:
    """An open loop at `rate` until every accepted order is final; the CPU it cost, by role,
    and the bench's own (its clients and watcher share the 2 cores): `BENCH_CPU`."""
    cpu_before, own_before, began = _cpu(stack), time.process_time(), time.monotonic()
    offered = asyncio.run(_offered(stack.url, rate, seconds))
    offered.open = watcher.wait_final(list(offered.accepted), DRAIN_SECONDS)
    used = {k: v - cpu_before.get(k, 0.0) for k, v in _cpu(stack).items()}
    used[BENCH_CPU] = (time.process_time() - own_before) / (time.monotonic() - began)
    return offered, used


def _cpu(stack: Stack) -> dict[str, float]:
    return {**stack.cpu_seconds(), **stack.service_cpu_seconds()}


def _saturated_row(watcher: Watcher, answers: Answers, began: float) -> Result:
    """Sagas completed per second while saturated: the accepted orders that shipped over the
    time from the first request to the last of them final. The door keeps the queues full
    until the load stops and the stack works through them after, so it was busy throughout."""
    seen = watcher.seen
    shipped = [seen.shipped[o] for o in answers.accepted if o in seen.shipped]
    finals = [f for o in answers.accepted if (f := seen.final(o)) is not None]
    rate = len(shipped) / max(max(finals, default=began) - began, 1e-9)
    return Result(
        f"saturated {SATURATED_RATE:g} orders/s offered x {SATURATED_SECONDS:g} s: "
        "completed sagas/s (first request -> last final)",
        rate,
        "sagas/s",
        target=">= 200 sagas/s",
        met=rate >= 200 and not answers.open,
        notes=_notes(answers),
    )


def _cpu_row(name: str, used: dict[str, float], answers: Answers, floor: bool = False) -> Result:
    """Where a saga's CPU goes, by process role (Kafka, PostgreSQL and OpenSearch included
    when the local stack runs them): 2 cores give 2,000 ms/s, so 200 sagas/s needs <= 10 ms.
    Refused requests cost the API too: they are part of what an accepted saga costs."""
    sagas, used = len(answers.accepted), dict(used)
    bench_cores = used.pop(BENCH_CPU, 0.0)
    per_saga = {role: seconds * 1000 / max(sagas, 1) for role, seconds in used.items()}
    parts = ", ".join(
        f"{role} {ms:.1f}" for role, ms in sorted(per_saga.items(), key=lambda kv: -kv[1])
    )
    total = sum(per_saga.values())
    return Result(
        f"{name} orders/s: CPU per saga ({parts})",
        total,
        "ms",
        target="<= 10 ms (200 sagas/s on 2 cores)" if floor else "",
        met=total <= 10 if floor else None,
        notes=f"the bench's own clients and watcher used {bench_cores:.2f} cores beside",
    )


def run(settings: Settings) -> list[Result]:
    """The burst and sustained rows from one stack in one fresh namespace, dropped after."""
    with running_stack(settings, port=18000 + os.getpid() % 1000 + 2) as stack:
        watcher = Watcher(stack.services)
        try:
            return _measure(stack, watcher)
        finally:
            watcher.close()
