"""Faust's aiokafka consumer made to read committed records only, without long parked fetches.

faust-streaming sets `isolation_level="read_committed"` only under `exactly_once`; our events
and replies are written in Kafka transactions, so an at-least-once worker must not see the
records of aborted ones (a killed or fenced command processor's) either.
"""

from __future__ import annotations

from typing import Any, cast

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
    """The aiokafka driver's consumer, reading committed records only.

    It also keeps offset commits moving past transaction markers: a read-committed fetch never
    delivers markers or aborted records, yet they take offsets. Faust bridges such gaps only
    between two delivered records; when the committed position itself sits on two or more of
    them (several transactional producers write each partition: their markers follow each
    other), Faust's next commit waits forever for offsets that will never arrive. Seen after a
    worker was killed: its successor processed everything and committed nothing.
    """

    def _new_offset(self, tp: Any) -> int | None:
        committed, acked = self._committed_offset[tp], self._acked[tp]
        if committed is not None and acked and min(acked) - committed > 1:
            head = min(acked)
            # Offsets below the first acked one that were never delivered can't be awaited.
            if not any(
                m.tp == tp and committed <= m.offset < head for m in list(self._unacked_messages)
            ):
                self._gap[tp].addi(committed, head)
        return cast(int | None, super()._new_offset(tp))

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ReadCommittedThread(self, loop=self.loop, beacon=self.beacon)


def use_read_committed() -> None:
    """Make this process's Faust workers read committed records only."""
    driver.Transport.Consumer = ReadCommittedConsumer
