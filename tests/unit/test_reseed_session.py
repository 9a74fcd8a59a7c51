"""A reseed after a fold goes through the instance's session: one transaction of its records
that moves no offset but carries the committed one (fenced by the group generation); a failed
one is aborted, logged and left for the next restore."""

from __future__ import annotations

from typing import Any

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from command_processor.aggregate_store import AggregateStore
from command_processor.hosted import HostedAggregate
from command_processor.outcomes import OutcomeIndex
from command_processor.reseed import reseed
from command_processor.restore import RestoredPartition, RestoreTopics
from command_processor.session import TransactionSession
from command_processor.snapshots import SnapshotCodec
from contexts.inventory.aggregates import STOCK
from tests.unit.test_transaction_session import Producer, _error

TOPICS = RestoreTopics("state", "events", "outcomes")


class RecordingProducer(Producer):
    def __init__(self, failures: dict[str, list[Any]]) -> None:
        super().__init__(failures)
        self.records: list[tuple[str, bytes, int]] = []
        self.offsets: list[TopicPartition] = []

    def produce(self, topic: str, key: bytes, partition: int, **_: Any) -> None:
        self.calls.append("produce")
        self.records.append((topic, key, partition))

    def send_offsets_to_transaction(self, offsets: Any, metadata: Any, timeout: float) -> None:
        self.offsets = offsets
        super().send_offsets_to_transaction(offsets, metadata, timeout)


def _session(failures: dict[str, list[Any]]) -> tuple[TransactionSession, RecordingProducer]:
    made: list[RecordingProducer] = []

    def new_producer(config: dict[str, object]) -> Any:
        made.append(RecordingProducer(failures))
        return made[-1]

    session = TransactionSession(
        {}, call_timeout=0.01, give_up_after=5.0, new_producer=new_producer
    )
    return session, made[0]


def _folded() -> RestoredPartition:
    hosted = AggregateStore(SnapshotCodec(STOCK))
    hosted.load({"SKU-1": HostedAggregate(STOCK.initial, 3)})
    return RestoredPartition(hosted, OutcomeIndex(3_600_000), folded=True)


def test_a_folded_partition_is_reseeded_in_one_fenced_transaction_that_moves_no_offset() -> None:
    session, producer = _session({})
    restored = _folded()
    committed = TopicPartition("commands", 2, 41)
    assert reseed(session, TOPICS, committed, restored, object()) == 1
    assert producer.calls == ["init", "begin", "produce", "send_offsets", "commit"]
    assert producer.records == [("state", b"SKU-1", 2)]
    assert [(tp.topic, tp.partition, tp.offset) for tp in producer.offsets] == [("commands", 2, 41)]
    assert not restored.folded and not session.in_transaction


def test_a_partition_without_a_committed_offset_sends_none() -> None:
    session, producer = _session({})
    reseed(session, TOPICS, TopicPartition("commands", 0, OFFSET_BEGINNING), _folded(), 0)
    assert producer.calls == ["init", "begin", "produce", "commit"]


def test_a_failed_reseed_is_aborted_and_left_for_the_next_restore() -> None:
    session, producer = _session({"commit": [_error(abortable=True)]})
    restored = _folded()
    assert reseed(session, TOPICS, TopicPartition("commands", 0, 5), restored, 0) == 0
    assert producer.calls[-2:] == ["commit", "abort"]
    assert restored.folded and not session.in_transaction
