"""How far a read-committed consumer may commit a partition: pure bookkeeping, no Kafka.

A read-committed fetch never delivers some offsets: transaction markers and aborted records
(and records compaction removed). The commit position may pass an offset only when it was
acknowledged, or when the log is *known* to hold no deliverable record there. "Not
acknowledged and not in flight" is not enough: a record a stream dropped (Faust clears its
queues for a rebalance or a stop) looks exactly like that, and passing it lost sagas in CI.

What the log holds is learned where the client reads it (`LogGaps`), not inferred from the
sequence of fetches: that sequence is broken by seeks from the event loop while Faust fetches
on its own thread, and by fetches Faust abandons that still take records in that thread.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Hashable, Iterable


class LogGaps:
    """Per partition, the offset ranges (half-open `[start, end)`) that hold no record a
    read-committed consumer delivers, and how far the client has read.

    The client reads a fetched slice of a partition from its position `start` on (`slice`):
    every offset of that slice it delivered no record for, up to where it stopped reading, is
    a marker, an aborted record or a record compaction removed. That is a fact about the log,
    true whoever fetched the slice and whatever became of its records (a fetch Faust abandoned,
    a cleared queue, a seek): no care is needed around seeks or threads. Thread-safe: the
    client reads on Faust's consumer thread, the commit runs on the event loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Which topics' gaps matter: those committed by this rule. A compacted changelog read
        # at a table's recovery has a gap per run of removed records, and nothing drops them.
        self.follows: Callable[[str], bool] = lambda topic: True
        self._gaps: dict[Hashable, list[tuple[int, int]]] = {}
        self._last: dict[Hashable, int] = {}
        self._first: dict[Hashable, int] = {}

    def slice(self, tp: Hashable, start: int) -> SliceReading:
        """The client starts reading a fetched slice of `tp` at its position `start`."""
        with self._lock:
            self._first.setdefault(tp, start)
        return SliceReading(self, tp, start)

    def skipped(self, tp: Hashable, start: int, end: int) -> None:
        """`[start, end)` of `tp` holds no deliverable record."""
        if end <= start:
            return
        with self._lock:
            gaps = self._gaps.setdefault(tp, [])
            # Merged with every range it overlaps or touches: a marker per transaction, one
            # range per run of them.
            lo = bisect.bisect_left(gaps, (start, start))
            if lo > 0 and gaps[lo - 1][1] >= start:
                lo -= 1
            hi = lo
            while hi < len(gaps) and gaps[hi][0] <= end:
                start, end = min(start, gaps[hi][0]), max(end, gaps[hi][1])
                hi += 1
            gaps[lo:hi] = [(start, end)]

    def delivered(self, tp: Hashable, offset: int) -> None:
        with self._lock:
            if offset > self._last.get(tp, -1):
                self._last[tp] = offset

    def last(self, tp: Hashable) -> int | None:
        """The highest offset of `tp` the client delivered a record for, if any."""
        with self._lock:
            return self._last.get(tp)

    def first(self, tp: Hashable) -> int | None:
        """The position the client first read `tp` from, if it did."""
        with self._lock:
            return self._first.get(tp)

    def end_of_gap(self, tp: Hashable, offset: int) -> int | None:
        """Where the gap holding `offset` ends, or None if `offset` is in none."""
        with self._lock:
            gaps = self._gaps.get(tp)
            if not gaps:
                return None
            at = bisect.bisect_right(gaps, (offset, float("inf"))) - 1
            if at >= 0 and gaps[at][0] <= offset < gaps[at][1]:
                return gaps[at][1]
            return None

    def drop_below(self, tp: Hashable, offset: int) -> None:
        """Gaps wholly below `offset` no longer matter (it was committed)."""
        with self._lock:
            gaps = self._gaps.get(tp)
            if gaps:
                gaps[:] = [gap for gap in gaps if gap[1] > offset]


class SliceReading:
    """One fetched slice of a partition as the client reads it, record by record."""

    def __init__(self, gaps: LogGaps, tp: Hashable, start: int) -> None:
        self._log, self._tp, self._next = gaps, tp, start

    def record(self, offset: int) -> None:
        """The client delivered the record at `offset`: what it passed over before it since
        the last one holds none."""
        self._log.skipped(self._tp, self._next, offset)
        self._log.delivered(self._tp, offset)
        self._next = offset + 1

    def end(self, position: int) -> None:
        """The client read the whole slice and moved its position to `position`."""
        self._log.skipped(self._tp, self._next, position)
        self._next = max(self._next, position)


class CommitBases:
    """Per partition, the offset the commit rule counts from when Faust doesn't know it.

    Faust forgets a partition's committed offset as a rebalance revokes it and learns it again
    only at its seek after the table recovery, while a batch in flight is still acknowledged
    and committed in between: counted from the lowest acknowledged offset, that commit passed
    every record below it that was fetched but never handled (a kill -9 then lost them).
    Here the group's committed offset is kept as last known; for a partition the group never
    committed, the position the client first read it from (a rebalance does not rewind those).
    """

    def __init__(self) -> None:
        self._committed: dict[Hashable, int] = {}

    def committed(self, tp: Hashable, offset: int | None) -> None:
        """The group's committed offset of `tp`, read or written (None, -1: none)."""
        if offset is not None and offset >= 0:
            self._committed[tp] = offset

    def base(self, tp: Hashable, known: int | None, first_read: int | None) -> int | None:
        """Where the commit of `tp` counts from: `known` (Faust's), else the last committed
        offset seen, else where the client first read it from; None when it never read it."""
        if known is not None:
            return known
        return self._committed.get(tp, first_read)


def reachable(tp: Hashable, base: int, done: set[int], gaps: LogGaps) -> int:
    """From the base (the committed offset), past every offset acknowledged (`done`) or in a
    gap of the log: the first offset that is neither."""
    position = base
    while True:
        if position in done:
            position += 1
        elif (end := gaps.end_of_gap(tp, position)) is not None:
            position = end
        else:
            return position


def commit_position(
    tp: Hashable, base: int | None, acked: Iterable[int], gaps: LogGaps
) -> int | None:
    """The offset to commit for `tp`, or None when there is nothing new to commit (or no
    known base to count from: never from the lowest acknowledged offset)."""
    done = set(acked)
    if not done or base is None:
        return None
    position = reachable(tp, base, done, gaps)
    return position if position > base else None


class HoleWatch:
    """Records fetched but never handled: an offset the commit stops at while later ones are
    acknowledged and nothing holds it. Faust can drop a fetched record on its way to the
    streams around a rebalance; the commit rule then keeps it uncommitted, and this says when
    to read the partition again from it (a hole that stays `patience` seconds)."""

    def __init__(self, patience: float) -> None:
        self._patience = patience
        self._seen: dict[Hashable, tuple[int, float]] = {}

    def check(self, tp: Hashable, hole: int | None, now: float) -> bool:
        """`hole`: where the commit of `tp` stops with later offsets acknowledged, or None.
        True when it is time to re-read from it (then the clock starts again)."""
        if hole is None:
            self._seen.pop(tp, None)
            return False
        offset, since = self._seen.get(tp, (hole, now))
        if offset != hole:
            offset, since = hole, now
        due = now - since >= self._patience
        self._seen[tp] = (offset, now if due else since)
        return due
