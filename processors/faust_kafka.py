"""Faust's aiokafka consumer made to read committed records only.

faust-streaming sets `isolation_level="read_committed"` only under `exactly_once`; our events
and replies are written in Kafka transactions, so an at-least-once worker must not see the
records of aborted ones (a killed or fenced command processor's) either.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as driver


class _ReadCommittedThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._isolation_level = "read_committed"  # the fetcher is built from it on start
        return consumer


class ReadCommittedConsumer(driver.Consumer):
    """The aiokafka driver's consumer, reading committed records only."""

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ReadCommittedThread(self, loop=self.loop, beacon=self.beacon)


def use_read_committed() -> None:
    """Make this process's Faust workers read committed records only."""
    driver.Transport.Consumer = ReadCommittedConsumer
