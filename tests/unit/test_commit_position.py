"""The commit rule of the saga workers' consumer (processors/offsets.py)."""

from processors.offsets import FetchGaps, HoleWatch, commit_position

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


def test_a_fetch_under_way_across_a_seek_bridges_nothing() -> None:
    """Faust fetches on its own thread: records from before a seek back to 12 (a hole being
    read again) arrive after it. Taken as following 12, they would bridge 12..19, unhandled."""
    gaps = FetchGaps()
    for offset in range(10, 20):
        gaps.fetched(TP, offset)
    since = gaps.mark()  # the fetch of 20.. begins
    with gaps.positioning(TP):
        gaps.reading_from(TP, 12)
    assert not gaps.usable(TP, since)  # its 20, 21 are not looked at
    gaps.fetched(TP, 22)  # the next record starts afresh: no gap before it
    assert commit_position(TP, 12, [13, 20, 21, 22], gaps) is None


def test_a_fetch_begun_during_a_positioning_bridges_nothing() -> None:
    gaps = FetchGaps()
    with gaps.positioning(None):  # a rebalance's seek to the committed offsets, awaited
        since = gaps.mark()
        assert not gaps.usable(TP, since)
        gaps.reading_from(TP, 10)
    assert not gaps.usable(TP, since)


def test_a_fetch_after_a_seek_keeps_the_gap_the_seek_knows() -> None:
    gaps = FetchGaps()
    with gaps.positioning(TP):
        gaps.reading_from(TP, 10)  # 10: the previous owner's last commit marker
    since = gaps.mark()
    assert gaps.usable(TP, since)
    gaps.fetched(TP, 11)
    assert commit_position(TP, 10, [11], gaps) == 12


def test_a_seek_elsewhere_leaves_a_fetch_of_this_partition_usable() -> None:
    gaps = FetchGaps()
    since = gaps.mark()
    with gaps.positioning(("sales.order.events", 1)):
        gaps.reading_from(("sales.order.events", 1), 5)
    assert gaps.usable(TP, since)
