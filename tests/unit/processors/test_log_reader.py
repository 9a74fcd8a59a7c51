"""What the worker's Kafka client tells of the log as it reads it: real record batches, read by
aiokafka's own reader, with the reader Skald installs (`processors/faust_kafka.py`)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from aiokafka.consumer.fetcher import READ_COMMITTED
from aiokafka.record import MemoryRecords
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.structs import TopicPartition

from processors.faust_kafka import LOG_GAPS, _GapTellingPartitionRecords
from processors.offsets import commit_position

COMMIT, ABORT = 1, 0
ATTRIBUTES_AT = struct.calcsize(">qiib")  # the batch header's CRC, then its attributes
CONTROL = 0x20
Aborted = tuple[int, int]  # an aborted transaction: its producer and its first offset


def _batch(base: int, offsets: list[int], producer: int = -1, marker: int | None = None) -> bytes:
    """A record batch at `base` holding `offsets`; by `producer` in a transaction if given;
    a transaction's marker (a control batch) if `marker` is given."""
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=int(producer >= 0), producer_id=producer,
        producer_epoch=0 if producer >= 0 else -1, base_sequence=0 if producer >= 0 else -1,
        batch_size=1 << 20,
    )  # fmt: skip
    for offset in offsets:
        key = b"k" if marker is None else struct.pack(">HH", 0, marker)
        builder.append(offset - base, timestamp=0, key=key, value=b"v", headers=[])
    batch = bytearray(builder.build())
    struct.pack_into(">q", batch, 0, base)  # the broker's offsets, not the producer's
    if marker is not None:
        (attributes,) = struct.unpack_from(">h", batch, ATTRIBUTES_AT + 4)
        struct.pack_into(">h", batch, ATTRIBUTES_AT + 4, attributes | CONTROL)
    return bytes(batch)


def _read(tp: TopicPartition, log: bytes, position: int, aborted: list[Aborted]) -> list[int]:
    records = _GapTellingPartitionRecords(
        tp, MemoryRecords(log), aborted, position, None, None, False, READ_COMMITTED
    )
    return [record.offset for record in records]


@pytest.fixture(autouse=True)
def followed() -> Iterator[None]:
    """The worker follows its acknowledged topics; these tests, every topic but one."""
    before = LOG_GAPS.follows
    LOG_GAPS.follows = lambda topic: topic != "test.log.changelog"
    yield
    LOG_GAPS.follows = before


def test_markers_aborted_and_compacted_offsets_are_gaps_and_records_never_are() -> None:
    tp = TopicPartition("test.log.reader", 0)
    log = b"".join([
        _batch(10, [10, 11], producer=5),  # a transaction's two records
        _batch(12, [12], producer=5, marker=COMMIT),
        _batch(13, [13, 14], producer=6),  # a transaction, aborted
        _batch(15, [15], producer=6, marker=ABORT),
        _batch(16, [16, 17, 19]),  # 18: removed by compaction
    ])  # fmt: skip
    delivered = _read(tp, log, position=11, aborted=[(6, 13)])
    assert delivered == [11, 16, 17, 19]
    assert LOG_GAPS.end_of_gap(tp, 12) == 16  # the marker, the aborted records, the marker
    assert LOG_GAPS.end_of_gap(tp, 18) == 19
    for record in (10, 11, 16, 17, 19):  # 10: before the position, never a gap either
        assert LOG_GAPS.end_of_gap(tp, record) is None
    assert commit_position(tp, 11, [11, 16, 17, 19], LOG_GAPS) == 20
    assert commit_position(tp, 11, [11, 17, 19], LOG_GAPS) == 16  # 16 not handled: stop


def test_a_slice_of_a_marker_alone_is_a_gap() -> None:
    """The end of the log is the last transaction's marker: no record ever follows it."""
    tp = TopicPartition("test.log.reader", 1)
    assert _read(tp, _batch(40, [40], producer=5, marker=COMMIT), 40, []) == []
    assert LOG_GAPS.end_of_gap(tp, 40) == 41
    assert LOG_GAPS.first(tp) == 40 and LOG_GAPS.last(tp) is None


def test_a_topic_not_followed_keeps_no_gaps() -> None:
    """A changelog read at a table's recovery: nothing would ever drop its gaps."""
    tp = TopicPartition("test.log.changelog", 0)
    assert _read(tp, _batch(16, [16, 17, 19]), 16, []) == [16, 17, 19]
    assert LOG_GAPS.end_of_gap(tp, 18) is None and LOG_GAPS.first(tp) is None
