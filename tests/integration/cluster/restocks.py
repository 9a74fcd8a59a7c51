"""Open-ended restock load with idempotency keys, its retries, and the checks against the log.

Every command restocks one of a few SKUs by a quantity no other command uses, so the event
that carries a quantity is that command's: the log says exactly which commands landed, how
often, and at which version.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from eventstore.position import Position
from tests.integration.commands.harness import StoredEvent, assert_contiguous

SKUS = tuple(f"SKU-{n}" for n in range(12))  # a few aggregates, each taking many versions
ACCEPTED = {200, 201}
UNAVAILABLE = {503, 504}  # the only refusals a broker fault may cause; -1: no HTTP answer


@dataclass
class Restock:
    """One command and every answer the API gave it (first send, then retries)."""

    sku: str
    quantity: int
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    answers: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, status)
    sent_at: float = 0.0
    version: int | None = None
    partition: int | None = None
    retry_after: list[str | None] = field(default_factory=list)

    @property
    def status(self) -> int:
        return self.answers[-1][1] if self.answers else 0

    @property
    def first(self) -> int:
        """The answer to the first send (0: none yet)."""
        return self.answers[0][1] if self.answers else 0

    @property
    def acknowledged(self) -> bool:
        return self.status in ACCEPTED


async def send(client: httpx.AsyncClient, command: Restock) -> None:
    """POST the restock with its key; record the answer (-1: the connection failed)."""
    if not command.sent_at:
        command.sent_at = time.monotonic()
    try:
        response = await client.post(
            f"/inventory/{command.sku}/restock",
            json={"quantity": command.quantity},
            headers={"Idempotency-Key": command.key},
        )
    except httpx.HTTPError:
        command.answers.append((time.monotonic(), -1))
        return
    command.answers.append((time.monotonic(), response.status_code))
    command.retry_after.append(response.headers.get("retry-after"))
    if response.status_code in ACCEPTED:
        body = response.json()
        command.version = body["version"]
        command.partition = Position.from_token(body["position"]).partition


class RestockLoad:
    """Closed-loop clients sending new restocks from a thread until stopped."""

    def __init__(self, url: str, concurrency: int = 4) -> None:
        self.url = url
        self.concurrency = concurrency
        self.commands: list[Restock] = []
        self._quantities = itertools.count(1)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._drive()), daemon=True)

    def start(self) -> RestockLoad:
        self._thread.start()
        return self

    def next_command(self) -> Restock:
        quantity = next(self._quantities)
        command = Restock(SKUS[quantity % len(SKUS)], quantity)
        self.commands.append(command)
        return command

    async def _drive(self) -> None:
        async def client_loop(client: httpx.AsyncClient) -> None:
            while not self._stopping.is_set():
                await send(client, self.next_command())

        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            await asyncio.gather(*(client_loop(client) for _ in range(self.concurrency)))

    def acknowledged(self) -> int:
        return sum(1 for command in self.commands if command.acknowledged)

    def wait_acknowledged(self, count: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.acknowledged() < count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert self.acknowledged() >= count, f"{self.acknowledged()} acknowledged in {timeout} s"

    def stop(self, timeout: float = 120.0) -> None:
        self._stopping.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the load did not stop"


def settle(url: str, commands: list[Restock], timeout: float = 300.0) -> int:
    """Retry every unacknowledged command with its own key until acknowledged; returns the
    number of retries it took. Anything but 503/504 on the way fails the test."""
    retries = 0
    deadline = time.monotonic() + timeout

    async def retry_all(pending: list[Restock]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for command in pending:
                await send(client, command)

    while time.monotonic() < deadline:
        pending = [command for command in commands if not command.acknowledged]
        if not pending:
            return retries
        retries += len(pending)
        asyncio.run(retry_all(pending))
        unexpected = [c.status for c in pending if c.status not in ACCEPTED | UNAVAILABLE]
        assert not unexpected, f"retries answered {Counter(unexpected)}"
        time.sleep(1)
    left = [command.status for command in commands if not command.acknowledged]
    raise AssertionError(f"{len(left)} commands never acknowledged: {Counter(left)}")


def check_against_log(commands: list[Restock], events: list[StoredEvent]) -> None:
    """Every command is in the log exactly once, at the version its answer gave; per SKU the
    versions are 1..n with no gap; and nothing is there that no command asked for."""
    assert_contiguous(events)
    landed = Counter(int(str(e.body["quantity"])) for e in events)
    duplicated = {q: n for q, n in landed.items() if n > 1}
    assert not duplicated, f"commands applied more than once: {duplicated}"
    by_quantity = {int(str(e.body["quantity"])): e for e in events}
    for command in commands:
        assert command.acknowledged, command
        event = by_quantity.get(command.quantity)
        assert event is not None, f"acknowledged but not in the log: {command}"
        assert event.envelope.aggregate_id == command.sku
        assert event.envelope.aggregate_version == command.version, (command, event.envelope)
    assert set(landed) == {c.quantity for c in commands}, "events nobody asked for"


def statuses(commands: list[Restock]) -> Counter[int]:
    """Every answer given, first sends and retries alike."""
    return Counter(status for command in commands for _, status in command.answers)
