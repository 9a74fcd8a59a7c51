"""A bounded load of order commands with idempotency keys, and the retry that settles them."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

ORDER = {
    "customer_id": "load",
    "items": [{"sku": "SKU-L", "name": "Load item", "quantity": 1, "unit_price_cents": 100}],
}
UNSETTLED = {502, 503, 504, -1}  # -1: the connection failed


@dataclass
class Attempt:
    """One command and what the API last answered for it."""

    kind: str  # "place" | "confirm-missing"
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    target: str = field(default_factory=lambda: f"missing-{uuid.uuid4().hex[:12]}")
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def settled(self) -> bool:
        return self.status not in UNSETTLED and self.status != 0


def mixed_commands(count: int) -> list[Attempt]:
    """Mostly new orders; every fourth command confirms an order that doesn't exist."""
    return [Attempt("confirm-missing" if n % 4 == 3 else "place") for n in range(count)]


async def _send(client: httpx.AsyncClient, attempt: Attempt) -> None:
    headers = {"Idempotency-Key": attempt.key}
    try:
        if attempt.kind == "place":
            response = await client.post("/orders", json=ORDER, headers=headers)
        else:
            response = await client.post(f"/orders/{attempt.target}/confirm", headers=headers)
        attempt.status, attempt.body = response.status_code, response.json()
    except httpx.HTTPError:
        attempt.status = -1


async def _drive(url: str, attempts: list[Attempt], concurrency: int) -> None:
    queue: asyncio.Queue[Attempt] = asyncio.Queue()
    for attempt in attempts:
        queue.put_nowait(attempt)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            await _send(client, queue.get_nowait())

    async with httpx.AsyncClient(base_url=url, timeout=15) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))


class BackgroundLoad:
    """Sends the attempts from a thread, so the test can kill processes meanwhile."""

    def __init__(self, url: str, attempts: list[Attempt], concurrency: int = 8) -> None:
        self.attempts = attempts
        self._thread = threading.Thread(
            target=lambda: asyncio.run(_drive(url, attempts, concurrency)), daemon=True
        )

    def start(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def answered(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.status != 0)

    def wait_answered(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.answered() < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.answered() >= count, f"only {self.answered()} answers in {timeout} s"

    def join(self, timeout: float = 120.0) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "load did not finish"


def settle(url: str, attempts: list[Attempt], timeout: float = 60.0) -> None:
    """Retry every unsettled attempt with its own key until it has a real outcome."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [attempt for attempt in attempts if not attempt.settled]
        if not pending:
            return
        asyncio.run(_drive(url, pending, concurrency=4))
    unsettled = [(a.kind, a.status) for a in attempts if not a.settled]
    raise AssertionError(f"{len(unsettled)} commands never settled: {unsettled[:5]}")
