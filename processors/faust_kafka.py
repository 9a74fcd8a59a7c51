"""Faust's aiokafka consumer made to read committed records only, without long parked fetches.

faust-streaming sets `isolation_level="read_committed"` only under `exactly_once`; our events
and replies are written in Kafka transactions, so an at-least-once worker must not see the
records of aborted ones (a killed or fenced command processor's) either.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver

FETCH_MAX_WAIT_MS = 20


class _ReadCommittedThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._isolation_level = "read_committed"  # the fetcher is built from it on start
        # Faust hard-codes a 1.5 s fetch wait. A parked read_committed fetch is not woken by a
        # commit marker, so every hop through a transactional topic could wait that long.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class ReadCommittedConsumer(driver.Consumer):
    """The aiokafka driver's consumer, reading committed records only."""

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ReadCommittedThread(self, loop=self.loop, beacon=self.beacon)


def use_read_committed() -> None:
    """Make this process's Faust workers read committed records only."""
    driver.Transport.Consumer = ReadCommittedConsumer
