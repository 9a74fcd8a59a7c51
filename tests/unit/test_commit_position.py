"""The commit rule of the saga workers' consumer (processors/offsets.py)."""

import threading

from processors.offsets import CommitBases, HoleWatch, LogGaps, commit_position

TP = ("sales.order.events", 0)


def _read(gaps: LogGaps, start: int, offsets: list[int], end: int | None = None) -> None:
    """The client read a slice from `start`, delivering `offsets`; `end`: it read it all."""
    reading = gaps.slice(TP, start)
    for offset in offsets:
        reading.record(offset)
    if end is not None:
        reading.end(end)


def test_acknowledged_offsets_are_committed_in_a_run() -> None:
    assert commit_position(TP, 10, [10, 11, 12], LogGaps()) == 13


def test_a_record_not_acknowledged_stops_the_run() -> None:
    assert commit_position(TP, 10, [10, 12, 13], LogGaps()) == 11


def test_nothing_new_gives_none() -> None:
    assert commit_position(TP, 10, [], LogGaps()) is None
    assert commit_position(TP, 10, [8, 9], LogGaps()) is None


def test_offsets_the_client_read_past_are_passed() -> None:
    gaps = LogGaps()
    _read(gaps, 10, [10, 11, 13, 14, 17])  # 12: a commit marker; 15, 16: an aborted transaction
    assert commit_position(TP, 10, [10, 11, 13, 14, 17], gaps) == 18


def test_a_dropped_record_is_not_mistaken_for_a_marker() -> None:
    """12 was delivered, then dropped by a stream (a cleared queue): the commit stops before it
    however much later is acknowledged."""
    gaps = LogGaps()
    _read(gaps, 10, list(range(10, 20)))
    assert commit_position(TP, 10, [10, 11, *range(13, 20)], gaps) == 12


def test_a_slice_starting_on_markers_knows_them() -> None:
    """The previous owner committed 10, a marker: the first record read from 10 is 11."""
    gaps = LogGaps()
    _read(gaps, 10, [11])
    assert commit_position(TP, 10, [11], gaps) == 12


def test_a_slice_of_markers_only_is_passed_once_read_to_its_end() -> None:
    """The last transaction's commit marker (13) is the end of the log: nothing follows it."""
    gaps = LogGaps()
    _read(gaps, 10, [10, 11, 12])
    assert commit_position(TP, 10, [10, 11, 12], gaps) == 13
    _read(gaps, 13, [], end=14)
    assert commit_position(TP, 10, [10, 11, 12], gaps) == 14


def test_a_slice_read_in_part_says_nothing_past_its_last_record() -> None:
    gaps = LogGaps()
    _read(gaps, 10, [10, 11])  # the caller took two records; the rest stays buffered
    assert gaps.end_of_gap(TP, 12) is None


def test_records_another_read_took_are_never_gaps() -> None:
    """A fetch Faust abandoned took 10-12 in the consumer's thread, and the next read starts at
    13: nothing says 10-12 are not records, so the commit stops at 10."""
    gaps = LogGaps()
    _read(gaps, 10, [10, 11, 12])
    _read(gaps, 13, [13, 14])
    assert commit_position(TP, 10, [13, 14], gaps) is None


def test_reading_again_keeps_gaps_true() -> None:
    gaps = LogGaps()
    _read(gaps, 10, [10, 12, 13, 30])  # 11: a marker; 14..29: an aborted transaction
    _read(gaps, 12, [12, 13])  # a hole read again from 12
    assert gaps.end_of_gap(TP, 11) == 12
    assert gaps.end_of_gap(TP, 20) == 30
    assert commit_position(TP, 12, [12], gaps) == 13  # 13 is delivered, not yet acknowledged


def test_touching_gaps_merge_and_committed_ones_are_dropped() -> None:
    gaps = LogGaps()
    gaps.skipped(TP, 12, 13)
    gaps.skipped(TP, 14, 15)
    gaps.skipped(TP, 13, 14)
    gaps.skipped(TP, 20, 22)
    gaps.skipped(TP, 11, 16)
    assert gaps.end_of_gap(TP, 11) == 16
    assert gaps.end_of_gap(TP, 16) is None
    gaps.drop_below(TP, 17)
    assert gaps.end_of_gap(TP, 11) is None
    assert gaps.end_of_gap(TP, 21) == 22


def test_the_client_reads_on_another_thread() -> None:
    gaps = LogGaps()
    readers = [
        threading.Thread(target=_read, args=(gaps, start, [start + 1], start + 3))
        for start in range(0, 3000, 3)
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    # Every third offset is a marker, the next a record, the one after a marker too.
    acked = list(range(1, 3000, 3))
    assert commit_position(TP, 0, acked, gaps) == 3000
    assert gaps.last(TP) == 2998 and gaps.first(TP) is not None


def test_a_hole_is_reported_once_it_stayed_its_patience_and_again_after() -> None:
    watch = HoleWatch(patience=3.0)
    assert not watch.check(TP, 12, now=100.0)
    assert not watch.check(TP, 12, now=102.0)
    assert watch.check(TP, 12, now=103.0)
    assert not watch.check(TP, 12, now=104.0)  # re-read asked: wait again before asking again
    assert watch.check(TP, 12, now=106.0)


def test_a_moving_or_closed_hole_starts_the_clock_again() -> None:
    watch = HoleWatch(patience=3.0)
    watch.check(TP, 12, now=100.0)
    assert not watch.check(TP, 15, now=103.0)  # a new place: the commit moved on
    assert not watch.check(TP, None, now=104.0)
    assert not watch.check(TP, 15, now=105.0)
    assert watch.check(TP, 15, now=108.0)


def test_without_a_base_nothing_is_committed() -> None:
    """Counting from the lowest acknowledged offset passed every unhandled record below it."""
    assert commit_position(TP, None, [85, 86, 87], LogGaps()) is None


def test_a_revoked_partition_counts_from_its_last_committed_offset() -> None:
    """A rebalance's revocation: Faust forgot 80, the batch in flight acknowledges 85..87,
    and 80..84 (fetched, dropped from a cleared queue) were never handled."""
    bases = CommitBases()
    bases.committed(TP, 80)
    base = bases.base(TP, None, first_read=None)
    assert base == 80
    assert commit_position(TP, base, [85, 86, 87], LogGaps()) is None
    assert commit_position(TP, bases.base(TP, 85, None), [85, 86, 87], LogGaps()) == 88


def test_a_partition_never_committed_counts_from_where_it_was_first_read() -> None:
    bases = CommitBases()
    assert bases.base(TP, None, first_read=None) is None
    bases.committed(TP, None)  # the group has no committed offset for it
    bases.committed(TP, -1)
    assert bases.base(TP, None, first_read=0) == 0
    assert commit_position(TP, bases.base(TP, None, 0), [40, 41], LogGaps()) is None
    bases.committed(TP, 30)
    assert bases.base(TP, None, first_read=0) == 30


def test_the_first_read_position_is_kept() -> None:
    gaps = LogGaps()
    assert gaps.first(TP) is None and gaps.last(TP) is None
    _read(gaps, 4, [4, 5])
    _read(gaps, 40, [41])  # after a rebalance that did not rewind it
    assert gaps.first(TP) == 4
    assert gaps.last(TP) == 41
