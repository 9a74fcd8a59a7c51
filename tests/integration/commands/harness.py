"""Real Skald processes for command-path tests: start, kill -9, pause, resume, stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from eventstore.codec import EventCodec
from eventstore.envelope import Envelope
from skald.settings import Settings
from tests.integration.commands.load import Attempt
from tests.integration.kafka_probe import read_all
from tests.integration.running_service import environment, free_port


@dataclass
class SkaldProcess:
    """One `python -m skald ...` process with its own log file."""

    name: str
    args: list[str]
    settings: Settings
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)  # beyond the test's settings
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> SkaldProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "skald", *self.args],
            env={**environment(self.settings, self.port), **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill(self) -> None:
        """kill -9: no cleanup, no flush, no goodbye."""
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(10)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `grace` seconds."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 60.0, after: int = 0) -> None:
        """Wait until `text` appears in the log past character `after`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log()[after:]:
                return
            assert self.process is not None and self.process.poll() is None, self.log()
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: {text!r} not logged in {timeout} s:\n{self.log()}")

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process is not None and self.process.poll() is None, self.log()
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not healthy:\n{self.log()}")


class ProcessFactory(Protocol):
    """Starts `python -m skald <args>` as a named process (extra environment optional)."""

    def __call__(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> SkaldProcess: ...


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the log has it."""

    envelope: Envelope
    event_type: str
    body: dict[str, object]
    partition: int
    offset: int


def read_events(settings: Settings, logical_topic: str, codec: EventCodec) -> list[StoredEvent]:
    """Every committed event of a topic, decoded, in partition order; once no transaction left
    open (a killed processor's, until the broker aborts it) holds a partition's end back."""
    found = []
    for message in read_all(settings.kafka_bootstrap, settings.topic(logical_topic), settled=30):
        event_type, body = codec.decode(message.value() or b"")
        found.append(
            StoredEvent(
                Envelope.from_headers(message.headers()),
                event_type,
                body,
                message.partition() or 0,
                message.offset() or 0,
            )
        )
    return found


def assert_contiguous(events: list[StoredEvent]) -> dict[str, list[StoredEvent]]:
    """Every aggregate's versions are 1..n in partition order, on one partition."""
    streams: dict[str, list[StoredEvent]] = defaultdict(list)
    for event in sorted(events, key=lambda e: (e.partition, e.offset)):
        streams[event.envelope.aggregate_id].append(event)
    for aggregate_id, stream in streams.items():
        versions = [e.envelope.aggregate_version for e in stream]
        assert versions == list(range(1, len(stream) + 1)), f"{aggregate_id}: {versions}"
        assert len({e.partition for e in stream}) == 1, f"{aggregate_id} spans partitions"
    return streams


def check_outcomes(attempts: list[Attempt], events: list[StoredEvent]) -> None:
    """Accepted commands appended exactly once; refused ones appended nothing."""
    placed: dict[str, int] = {}
    confirmed: set[str] = set()
    for event in events:
        aggregate_id = event.envelope.aggregate_id
        if event.event_type.endswith("OrderPlaced"):
            placed[aggregate_id] = placed.get(aggregate_id, 0) + 1
        elif event.event_type.endswith("OrderConfirmed"):
            confirmed.add(aggregate_id)
    for attempt in attempts:
        if attempt.kind == "place":
            assert attempt.status == 201, attempt
            assert placed.get(attempt.body["order_id"]) == 1, attempt
        else:
            assert attempt.status == 404, attempt
            assert attempt.target not in confirmed and attempt.target not in placed
    accepted = {a.body["order_id"] for a in attempts if a.kind == "place"}
    assert set(placed) == accepted  # and nothing that nobody asked for
