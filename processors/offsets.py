"""How far a read-committed consumer may commit a partition: pure bookkeeping, no Kafka.

A read-committed fetch never delivers some offsets: transaction markers and aborted records.
The commit position may pass an offset only when it was acknowledged, or when the fetch is
*known* to have stepped over it: two records fetched one after the other, with nothing between
them delivered. "Not acknowledged and not in flight" is not enough: a record a stream dropped
(Faust clears its queues for a rebalance or a stop) looks exactly like that, and passing it
lost sagas in CI.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Iterable


class FetchGaps:
    """Per partition, the offset ranges a fetch stepped over (half-open `[start, end)`)."""

    def __init__(self) -> None:
        self._last: dict[Hashable, int] = {}
        self._gaps: dict[Hashable, list[tuple[int, int]]] = {}

    def fetched(self, tp: Hashable, offset: int) -> None:
        """A record at `offset` came right after the previous record fetched for `tp`."""
        last = self._last.get(tp)
        if last is not None and offset > last + 1:
            bisect.insort(self._gaps.setdefault(tp, []), (last + 1, offset))
        self._last[tp] = offset

    def last(self, tp: Hashable) -> int | None:
        """The offset of the last record fetched for `tp` since it was positioned, if known."""
        return self._last.get(tp)

    def reading_from(self, tp: Hashable, offset: int | None) -> None:
        """`tp` was positioned at `offset` (a seek): the next record follows it, not the last
        one fetched. `None`: where it reads next is unknown (no gap before the next record)."""
        if offset is None or offset < 0:
            self._last.pop(tp, None)
        else:
            self._last[tp] = offset - 1

    def forget(self, tps: Iterable[Hashable]) -> None:
        """The partitions left this consumer."""
        for tp in tps:
            self._last.pop(tp, None)
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


def reachable(tp: Hashable, committed: int | None, done: set[int], gaps: FetchGaps) -> int:
    """From the committed offset, past every offset acknowledged (`done`) or stepped over by
    the fetch: the first offset that is neither."""
    position = min(done) if committed is None else committed
    while True:
        if position in done:
            position += 1
        elif (end := gaps.end_of_gap(tp, position)) is not None:
            position = end
        else:
            return position


def commit_position(
    tp: Hashable, committed: int | None, acked: Iterable[int], gaps: FetchGaps
) -> int | None:
    """The offset to commit for `tp`, or None when there is nothing new to commit."""
    done = set(acked)
    if not done:
        return None
    position = reachable(tp, committed, done, gaps)
    if committed is not None and position <= committed:
        return None
    return position


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
