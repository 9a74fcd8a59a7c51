"""Faust's aiokafka consumer made to read committed records only, without long parked fetches.

faust-streaming sets `isolation_level="read_committed"` only under `exactly_once`; our events
and replies are written in Kafka transactions, so an at-least-once worker must not see the
records of aborted ones (a killed or fenced command processor's) either.
"""

from __future__ import annotations

import bisect
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
    """The aiokafka driver's consumer, reading committed records only.

    It also decides how far offsets may be committed, because Faust's own rule stalls on the
    offsets a read-committed fetch never delivers (transaction markers, aborted records): it
    bridges them only between two delivered records, and its bridges overlap the records they
    end at, which breaks the run of consecutive offsets it commits. Seen in two ways: after a
    worker was killed its successor processed every record and committed nothing, and under a
    burst commits crawled one transaction per second, so the group's lag never drained.

    The rule here: from the committed position, an offset is passed when it was acked, or when
    it was never delivered. Records of a partition arrive in order, so below the highest acked
    offset whatever is neither acked nor still in flight never will be.
    """

    def _new_offset(self, tp: Any) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        committed = self._committed_offset[tp]
        in_flight = sorted(m.offset for m in list(self._unacked_messages) if m.tp == tp)
        done = sorted(set(acked))
        position = done[0] if committed is None else committed
        for offset in done:
            if offset < position:
                continue
            waiting = bisect.bisect_left(in_flight, position)
            if waiting < len(in_flight) and in_flight[waiting] < offset:
                break  # a delivered record before this one is not acked yet
            position = offset + 1
        if committed is not None and position <= committed:
            return None
        passed = [offset for offset in acked if offset < position]
        acked[:] = [offset for offset in acked if offset >= position]
        self._acked_index[tp].difference_update(passed)
        self._gap[tp].chop(0, position)  # Faust's own bridges below it are moot now
        return position

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ReadCommittedThread(self, loop=self.loop, beacon=self.beacon)


def use_read_committed() -> None:
    """Make this process's Faust workers read committed records only."""
    driver.Transport.Consumer = ReadCommittedConsumer
