"""Applies a batch to a sink so that nothing stalls the pipeline and nothing is lost.

- A transient failure (store down, throttled, deadlock) retries the same batch forever,
  with capped backoff: an outage must never turn into dead letters.
- Any other failure retries a bounded number of times, then the batch is bisected until
  the failing event is alone; it goes to the dead-letter topic (acknowledged first), and
  the sink records it as pending redrive in the transaction that moves the checkpoint
  past it. Every other event of the batch is applied.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import TransportError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

from eventstore.position import Position
from projections import metrics
from projections.dead_letters import DeadLetterWriter
from projections.model import (
    GenerationMoved,
    PartitionKey,
    Projected,
    Sink,
    TransientSinkError,
)

log = logging.getLogger(__name__)


class Stopped(Exception):
    """The projector was asked to stop while a batch was still being retried."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before isolating an event, and how long to wait between tries."""

    batch_attempts: int = 2
    event_attempts: int = 3
    base_delay: float = 0.05
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


def is_transient(error: BaseException) -> bool:
    """Whether retrying the same work later can succeed without anyone changing code."""
    if isinstance(error, TransientSinkError | OperationalError | InterfaceError):
        return True
    if isinstance(error, ProgrammingError):
        return True  # schema drift (missing table or column): a deploy problem, not the event's
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, SearchConnectionError):
        return True
    if isinstance(error, TransportError) and isinstance(error.status_code, int):
        return error.status_code == 429 or error.status_code >= 500
    return False


def offsets_through(events: Sequence[Projected]) -> dict[PartitionKey, int]:
    """Per partition, the offset after the last of these events."""
    offsets: dict[PartitionKey, int] = {}
    for item in events:
        key = (item.position.topic, item.position.partition)
        offsets[key] = max(offsets.get(key, 0), item.position.offset + 1)
    return offsets


class BatchApplier:
    """Applies batches to one sink with retries, isolation and dead letters."""

    def __init__(
        self,
        sink: Sink,
        dead_letters: DeadLetterWriter,
        stopping: threading.Event,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sink = sink
        self._dead_letters = dead_letters
        self._stopping = stopping
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._name = sink.projection_name

    def apply(
        self,
        batch: Sequence[Projected],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...] = (),
    ) -> None:
        """Apply everything that can be applied; raises GenerationMoved or Stopped."""
        error = self._attempt(batch, next_offsets, dead_lettered, self._policy.batch_attempts)
        if error is None:
            return
        self._isolate(batch, next_offsets, dead_lettered)

    def _isolate(
        self,
        batch: Sequence[Projected],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...],
    ) -> None:
        if len(batch) <= 1:
            attempts = self._policy.event_attempts
            error = self._attempt(batch, next_offsets, dead_lettered, attempts)
            if error is None:
                return
            if not batch:
                raise error  # a checkpoint-only write failing for good: the sink is broken
            (poison,) = batch
            log.error("projection %s: dead-lettering %s: %s", self._name, poison.position, error)
            self._dead_letters.send_event(poison, "handler", f"{type(error).__name__}: {error}")
            metrics.DEAD_LETTERS.labels(self._name).inc()
            self._apply_forever([], next_offsets, (*dead_lettered, poison.position))
            return
        middle = len(batch) // 2
        first, rest = batch[:middle], batch[middle:]
        if self._attempt(first, offsets_through(first), (), 1) is not None:
            self._isolate(first, offsets_through(first), ())
        if self._attempt(rest, next_offsets, dead_lettered, 1) is not None:
            self._isolate(rest, next_offsets, dead_lettered)

    def _attempt(
        self,
        batch: Sequence[Projected],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...],
        attempts: int,
    ) -> Exception | None:
        """None once applied; the last error after `attempts` permanent failures.

        Transient failures don't count against `attempts`: they retry until stopped.
        """
        failures = 0
        transient = 0
        while True:
            try:
                self._sink.apply(batch, next_offsets, dead_lettered)
                return None
            except GenerationMoved:
                raise
            except Exception as error:
                if is_transient(error):
                    transient += 1
                    metrics.ERRORS.labels(self._name, "transient").inc()
                    delay = self._policy.delay(min(transient, 8))
                    log.warning(
                        "projection %s: store unavailable (%s); retry in %.2fs",
                        self._name,
                        error,
                        delay,
                    )
                else:
                    failures += 1
                    metrics.ERRORS.labels(self._name, "permanent").inc()
                    if failures >= attempts:
                        return error
                    delay = self._policy.delay(failures)
                    log.warning(
                        "projection %s: batch of %d failed (%s: %s), attempt %d/%d",
                        self._name,
                        len(batch),
                        type(error).__name__,
                        error,
                        failures,
                        attempts,
                    )
            if self._stopping.wait(delay):
                raise Stopped

    def _apply_forever(
        self,
        batch: Sequence[Projected],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...],
    ) -> None:
        attempt = 0
        while self._attempt(batch, next_offsets, dead_lettered, 1) is not None:
            attempt += 1
            if self._stopping.wait(self._policy.delay(min(attempt, 8))):
                raise Stopped
