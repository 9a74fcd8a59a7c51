"""The commit rule of the saga workers' consumer (processors/offsets.py)."""

from processors.offsets import CommitBases, FetchGaps, HoleWatch, commit_position

TP = ("sales.order.events", 0)


def test_acknowledged_offsets_are_committed_in_a_run() -> None:
    assert commit_position(TP, 10, [10, 11, 12], FetchGaps()) == 13


def test_a_record_not_acknowledged_stops_the_run() -> None:
    assert commit_position(TP, 10, [10, 12, 13], FetchGaps()) == 11


def test_nothing_new_gives_none() -> None:
    assert commit_position(TP, 10, [], FetchGaps()) is None
    assert commit_position(TP, 10, [8, 9], FetchGaps()) is None


def test_offsets_the_fetch_stepped_over_are_passed() -> None:
    gaps = FetchGaps()
    for offset in (10, 11, 13, 14, 17):  # 12: a commit marker; 15, 16: an aborted transaction
        gaps.fetched(TP, offset)
    assert commit_position(TP, 10, [10, 11, 13, 14, 17], gaps) == 18


def test_a_dropped_record_is_not_mistaken_for_a_marker() -> None:
    """12 was fetched but dropped by a stream (a cleared queue): it was delivered, so the
    commit stops before it however much later is acknowledged."""
    gaps = FetchGaps()
    for offset in range(10, 20):
        gaps.fetched(TP, offset)
    assert commit_position(TP, 10, [10, 11, *range(13, 20)], gaps) == 12


def test_the_gap_between_a_seek_and_the_first_record_is_known() -> None:
    """The previous owner committed 10, a marker: the first record fetched is 11."""
    gaps = FetchGaps()
    gaps.reading_from(TP, 10)
    gaps.fetched(TP, 11)
    assert commit_position(TP, 10, [11], gaps) == 12


def test_an_unknown_start_bridges_nothing() -> None:
    gaps = FetchGaps()
    gaps.reading_from(TP, None)
    gaps.fetched(TP, 15)
    gaps.fetched(TP, 16)
    assert commit_position(TP, 10, [15, 16], gaps) is None


def test_a_seek_back_keeps_gaps_true_and_adds_none_across_it() -> None:
    gaps = FetchGaps()
    for offset in (10, 12, 13, 30):  # 11: a marker; 14..29: an aborted transaction
        gaps.fetched(TP, offset)
    gaps.reading_from(TP, 12)  # re-read from 12: 30 -> 12 steps over nothing
    gaps.fetched(TP, 12)
    gaps.fetched(TP, 13)
    assert gaps.end_of_gap(TP, 11) == 12
    assert gaps.end_of_gap(TP, 20) == 30  # still a fact of the log
    assert commit_position(TP, 12, [12], gaps) == 13  # 13 is delivered, not yet acknowledged


def test_forgotten_partitions_and_dropped_gaps_bridge_nothing() -> None:
    gaps = FetchGaps()
    for offset in (10, 12, 14):
        gaps.fetched(TP, offset)
    gaps.drop_below(TP, 13)
    assert gaps.end_of_gap(TP, 11) is None
    assert gaps.end_of_gap(TP, 13) == 14
    gaps.forget([TP])
    assert gaps.end_of_gap(TP, 13) is None


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


def _stale_fetch_across_a_seek_back_to_12() -> FetchGaps:
    """Faust fetches on its own thread: 20, 21 arrive after a seek back to 12 (a hole read
    again), from before the seek or after it (a seek aiokafka lost to its fetching thread)."""
    gaps = FetchGaps()
    gaps.fetched_batch(TP, range(10, 20), gaps.mark())
    since = gaps.mark()  # the fetch of 20.. begins
    with gaps.positioning(TP):
        gaps.reading_from(TP, 12)
    gaps.fetched_batch(TP, [20, 21, 23], since)
    return gaps


def test_a_fetch_under_way_across_a_seek_bridges_only_what_holds_either_way() -> None:
    gaps = _stale_fetch_across_a_seek_back_to_12()
    assert gaps.end_of_gap(TP, 22) == 23  # inside one fetch: true whichever it follows
    assert gaps.end_of_gap(TP, 12) is None  # taken as following the seek, 20 bridged 12..19
    assert commit_position(TP, 12, [13, 20, 21, 23], gaps) is None


def test_after_a_stale_fetch_the_next_may_follow_the_seek() -> None:
    gaps = _stale_fetch_across_a_seek_back_to_12()
    gaps.fetched_batch(TP, [13, 14], gaps.mark())  # from 12, a marker: 13 can only follow 11
    assert gaps.end_of_gap(TP, 12) == 13
    assert commit_position(TP, 12, [13], gaps) == 14


def test_after_a_stale_fetch_the_next_may_follow_it() -> None:
    gaps = _stale_fetch_across_a_seek_back_to_12()
    gaps.fetched_batch(TP, [26], gaps.mark())  # the seek was lost: 26 follows 23
    assert gaps.end_of_gap(TP, 24) == 26  # what holds after 23 and after 11 alike
    assert gaps.end_of_gap(TP, 12) is None
    assert gaps.end_of_gap(TP, 16) is None


def test_a_stale_fetch_may_continue_the_sequence_before_the_seek() -> None:
    gaps = FetchGaps()
    gaps.fetched_batch(TP, [10, 11], gaps.mark())
    since = gaps.mark()
    with gaps.positioning(None):  # a rebalance's seek to the committed offset, 30
        gaps.reading_from(TP, 30)
    gaps.fetched_batch(TP, [14, 15], since)  # 14 cannot follow 29: it follows 11
    assert gaps.end_of_gap(TP, 12) == 14
    gaps.fetched_batch(TP, [33], since)  # follows 29 or 15: only 30..32 holds for both
    assert gaps.end_of_gap(TP, 30) == 33
    assert gaps.end_of_gap(TP, 16) is None


def test_a_fetch_after_a_seek_keeps_the_gap_the_seek_knows() -> None:
    gaps = FetchGaps()
    with gaps.positioning(TP):
        gaps.reading_from(TP, 10)  # 10: the previous owner's last commit marker
    gaps.fetched_batch(TP, [11], gaps.mark())
    assert commit_position(TP, 10, [11], gaps) == 12


def test_a_fetch_during_a_rebalance_seek_bridges_only_what_holds_either_way() -> None:
    gaps = FetchGaps()
    gaps.fetched_batch(TP, [10, 11], gaps.mark())
    with gaps.positioning(None):
        since = gaps.mark()
        gaps.reading_from(TP, 20)
        gaps.fetched_batch(TP, [21, 22], since)  # after the seek (follows 19) or not (11)
    assert gaps.end_of_gap(TP, 20) == 21  # 12..20 or 20..20: what holds either way
    assert gaps.end_of_gap(TP, 12) is None


def test_a_seek_elsewhere_leaves_a_fetch_of_this_partition_certain() -> None:
    other = ("sales.order.events", 1)
    gaps = FetchGaps()
    gaps.fetched_batch(TP, [10], gaps.mark())
    since = gaps.mark()
    with gaps.positioning(other):
        gaps.reading_from(other, 5)
    gaps.fetched_batch(TP, [12], since)
    assert gaps.end_of_gap(TP, 11) == 12


def test_without_a_base_nothing_is_committed() -> None:
    """Counting from the lowest acknowledged offset passed every unhandled record below it."""
    assert commit_position(TP, None, [85, 86, 87], FetchGaps()) is None


def test_a_revoked_partition_counts_from_its_last_committed_offset() -> None:
    """A rebalance's revocation: Faust forgot 80, the batch in flight acknowledges 85..87,
    and 80..84 (fetched, dropped from a cleared queue) were never handled."""
    bases = CommitBases()
    bases.committed(TP, 80)
    base = bases.base(TP, None)
    assert base == 80
    assert commit_position(TP, base, [85, 86, 87], FetchGaps()) is None
    assert commit_position(TP, bases.base(TP, 85), [85, 86, 87], FetchGaps()) == 88


def test_a_partition_never_committed_counts_from_the_first_record_fetched() -> None:
    bases = CommitBases()
    assert bases.base(TP, None) is None
    bases.committed(TP, None)  # the group has no committed offset for it
    bases.committed(TP, -1)
    bases.fetched(TP, 0)
    bases.fetched(TP, 40)  # after a rebalance that did not rewind it (no committed offset)
    assert bases.base(TP, None) == 0
    assert commit_position(TP, bases.base(TP, None), [40, 41], FetchGaps()) is None
    bases.committed(TP, 30)
    assert bases.base(TP, None) == 30


def test_records_booked_late_undo_the_bridge_made_over_them() -> None:
    """A fetch abandoned across a rebalance's seek took 10-12 in the consumer's thread; the next
    fetch, booked first, bridged from the seek to 13. Booked when it ends, 10-12 are records
    fetched and never handled: the commit stops at 10 instead of passing them."""
    gaps = FetchGaps()
    abandoned = gaps.mark()
    with gaps.positioning(TP):
        gaps.reading_from(TP, 10)
    gaps.fetched_batch(TP, [13, 14], gaps.mark())
    assert commit_position(TP, 10, [13, 14], gaps) == 15  # the bridge over 10-12, wrongly
    gaps.fetched_batch(TP, [10, 11, 12], abandoned)
    assert commit_position(TP, 10, [13, 14], gaps) is None
    assert commit_position(TP, 10, [10, 11, 12, 13, 14], gaps) == 15


def test_a_late_batch_keeps_the_true_gaps_inside_it() -> None:
    gaps = FetchGaps()
    for offset in (10, 11, 14):  # 12, 13: markers
        gaps.fetched(TP, offset)
    gaps.fetched_batch(TP, [10, 11, 14], gaps.mark())  # the same records booked again
    assert commit_position(TP, 10, [10, 11, 14], gaps) == 15
