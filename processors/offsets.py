"""How far a read-committed consumer may commit a partition: pure bookkeeping, no Kafka.

A read-committed fetch never delivers some offsets: transaction markers and aborted records.
The commit position may pass an offset only when it was acknowledged, or when the fetch is
*known* to have stepped over it: two records fetched one after the other, with nothing between
them delivered. "Not acknowledged and not in flight" is not enough: a record a stream dropped
(Faust clears its queues for a rebalance or a stop) looks exactly like that, and passing it
lost sagas in CI.

"One after the other" holds only within one read sequence. Faust fetches on its own thread
while seeks come from the event loop, so a fetch under way across a seek may hand over records
from before the seek or from after it, and its last record may or may not be what the next
fetch follows. For such a fetch FetchGaps keeps every place the next record may follow, and
bridges only what every one of them would: the gaps inside a fetch are always true.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager


class FetchGaps:
    """Per partition, the offset ranges a fetch stepped over (half-open `[start, end)`)."""

    def __init__(self) -> None:
        # Per partition, every offset the next record fetched may follow: one while the read
        # sequence is certain, several after a fetch that overlapped a positioning, none when
        # unknown (no gap before the next record).
        self._after: dict[Hashable, set[int]] = {}
        # Per partition, where the read sequences before its positionings had got to: a fetch
        # under way across a positioning may continue one of them.
        self._before: dict[Hashable, set[int]] = {}
        self._gaps: dict[Hashable, list[tuple[int, int]]] = {}
        self._clock = 0  # ticks at each positioning's start and end
        self._moved: dict[Hashable | None, int] = {}  # partition (None: all) -> its last tick
        self._under_way: dict[Hashable | None, int] = {}  # positionings not yet finished

    def mark(self) -> int:
        """Taken before a fetch, given back with its records (`fetched_batch`)."""
        return self._clock

    @contextmanager
    def positioning(self, tp: Hashable | None) -> Iterator[None]:
        """`tp` (None: every partition) is being positioned: a fetch under way at any moment
        of it may hold records from before it."""
        self._tick(tp)
        self._under_way[tp] = self._under_way.get(tp, 0) + 1
        try:
            yield
        finally:
            self._under_way[tp] -= 1
            if not self._under_way[tp]:
                del self._under_way[tp]
            self._tick(tp)

    def _tick(self, tp: Hashable | None) -> None:
        self._clock += 1
        self._moved[tp] = self._clock

    def _overlapped(self, tp: Hashable, since: int) -> bool:
        return (
            tp in self._under_way
            or None in self._under_way
            or max(self._moved.get(tp, 0), self._moved.get(None, 0)) > since
        )

    def fetched_batch(self, tp: Hashable, offsets: Iterable[int], since: int) -> None:
        """The records one fetch, begun at mark `since`, returned for `tp`, in order."""
        fetched = list(offsets)
        if not fetched:
            return
        first = fetched[0]
        self._delivered(tp, first, fetched[-1])
        stale = self._overlapped(tp, since)
        follows = self._after.get(tp, set())
        if stale:  # it may continue a sequence from before a positioning
            self._bridge(tp, follows | self._before.get(tp, set()), first)
        else:  # it began after every positioning: nothing before them matters any more
            self._bridge(tp, follows, first)
            self._before.pop(tp, None)
        last = first
        for offset in fetched[1:]:
            if offset > last + 1:
                bisect.insort(self._gaps.setdefault(tp, []), (last + 1, offset))
            last = offset
        # After a stale fetch the next record follows its last, or the positioning it crossed.
        self._after[tp] = (follows | {last}) if stale else {last}

    def _delivered(self, tp: Hashable, first: int, last: int) -> None:
        """Records `first`..`last` were fetched: no gap may cover them. A bridge made before
        they were booked (a fetch abandoned in the consumer's thread, booked when it ends)
        stepped over real records; what lies between them is bridged again from this batch."""
        gaps = self._gaps.get(tp)
        if not gaps:
            return
        kept: list[tuple[int, int]] = []
        for start, end in gaps:
            if end <= first or start > last:
                kept.append((start, end))
                continue
            if start < first:
                kept.append((start, first))
            if end > last + 1:
                kept.append((last + 1, end))
        gaps[:] = kept

    def _bridge(self, tp: Hashable, candidates: set[int], offset: int) -> None:
        """Record the gap before `offset` that holds whichever candidate it follows: the true
        predecessor is one of them, and below `offset`."""
        below = [c for c in candidates if c < offset]
        if below and offset > (start := max(below) + 1):
            bisect.insort(self._gaps.setdefault(tp, []), (start, offset))

    def fetched(self, tp: Hashable, offset: int) -> None:
        """A record at `offset` came right after the previous record fetched for `tp`, by a
        fetch no positioning overlapped."""
        self.fetched_batch(tp, (offset,), self._clock)

    def last(self, tp: Hashable) -> int | None:
        """The offset of the last record fetched for `tp` since it was positioned, if known."""
        return max(self._after.get(tp) or (), default=None)

    def reading_from(self, tp: Hashable, offset: int | None) -> None:
        """`tp` was positioned at `offset` (a seek): the next record follows it, not the last
        one fetched. `None`: where it reads next is unknown (no gap before the next record)."""
        self._before.setdefault(tp, set()).update(self._after.get(tp, ()))
        self._after[tp] = set() if offset is None or offset < 0 else {offset - 1}

    def forget(self, tps: Iterable[Hashable]) -> None:
        """The partitions left this consumer."""
        for tp in tps:
            self._after.pop(tp, None)
            self._before.pop(tp, None)
            self._gaps.pop(tp, None)

    def end_of_gap(self, tp: Hashable, offset: int) -> int | None:
        """Where the gap holding `offset` ends, or None if `offset` is in none."""
        gaps = self._gaps.get(tp)
        if not gaps:
            return None
        at = bisect.bisect_right(gaps, (offset, float("inf"))) - 1
        if at >= 0 and gaps[at][0] <= offset < gaps[at][1]:
            return gaps[at][1]
        return None

    def drop_below(self, tp: Hashable, offset: int) -> None:
        """Gaps wholly below `offset` no longer matter (it was committed)."""
        gaps = self._gaps.get(tp)
        if gaps:
            gaps[:] = [gap for gap in gaps if gap[1] > offset]


class CommitBases:
    """Per partition, the offset the commit rule counts from when Faust doesn't know it.

    Faust forgets a partition's committed offset as a rebalance revokes it and learns it again
    only at its seek after the table recovery, while a batch in flight is still acknowledged
    and committed in between: counted from the lowest acknowledged offset, that commit passed
    every record below it that was fetched but never handled (a kill -9 then lost them).
    Here the group's committed offset is kept as last known; for a partition the group never
    committed, the first offset this consumer fetched (a rebalance does not rewind those).
    """

    def __init__(self) -> None:
        self._committed: dict[Hashable, int] = {}
        self._first: dict[Hashable, int] = {}

    def committed(self, tp: Hashable, offset: int | None) -> None:
        """The group's committed offset of `tp`, read or written (None, -1: none)."""
        if offset is not None and offset >= 0:
            self._committed[tp] = offset

    def fetched(self, tp: Hashable, offset: int) -> None:
        """A record of `tp` was fetched (only the first one ever counts)."""
        if tp not in self._first:
            self._first[tp] = offset

    def base(self, tp: Hashable, known: int | None) -> int | None:
        """Where the commit of `tp` counts from: `known` (Faust's), else the last committed
        offset seen, else the first fetched; None when nothing was fetched."""
        if known is not None:
            return known
        return self._committed.get(tp, self._first.get(tp))


def reachable(tp: Hashable, base: int, done: set[int], gaps: FetchGaps) -> int:
    """From the base (the committed offset), past every offset acknowledged (`done`) or
    stepped over by the fetch: the first offset that is neither."""
    position = base
    while True:
        if position in done:
            position += 1
        elif (end := gaps.end_of_gap(tp, position)) is not None:
            position = end
        else:
            return position


def commit_position(
    tp: Hashable, base: int | None, acked: Iterable[int], gaps: FetchGaps
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
