"""Idempotency outcomes: remembered for the retention however busy the aggregate, kept only
when their transaction commits, and read back from old snapshots whatever the state's shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from command_processor.aggregate_store import AggregateStore
from command_processor.decisions import complete, decide
from command_processor.hosted import HostedAggregate
from command_processor.outcomes import (
    OutcomeIndex,
    PendingOutcomes,
    StoredOutcome,
    encode_outcome,
    record_key,
)
from command_processor.reseed import restored_records
from command_processor.restore import PartitionRestore, RestoredPartition, RestoreTopics
from command_processor.snapshots import SnapshotCodec, legacy_outcomes
from contexts.inventory.aggregates import STOCK
from contexts.inventory.stock.commands import Restock
from eventstore.aggregate import DEFAULT_OUTCOME_RETENTION_MS
from producers.messages import CommandMessage, OutcomeKind, Reply
from skald.provision import declared_topics
from skald.registry import CONTEXTS
from skald.settings import Settings

NOW = datetime(2024, 1, 1, tzinfo=UTC)
HOUR_MS = 3_600_000
ACCEPTED = Reply(OutcomeKind.ACCEPTED, "SKU-1", True, 1, ("StockRestocked",), "p:0:0")


def _restock(key: str, quantity: int = 5) -> tuple[CommandMessage, Restock]:
    message = CommandMessage("Restock", "SKU-1", {}, key, "replies", key, f"fp-{quantity}")
    return message, Restock("SKU-1", quantity, NOW)


def _run(index: OutcomeIndex, hosted: HostedAggregate[Any], key: str, now_ms: int) -> Reply:
    """One command in its own committed batch, as the processor runs it."""
    pending = PendingOutcomes(index, now_ms)
    message, command = _restock(key)
    decision = decide(STOCK, hosted, message, command, pending)
    reply = complete(pending, message, decision, f"p:0:{hosted.version}")
    pending.commit()
    return reply


def test_a_key_is_answered_after_hundreds_of_other_keys_on_the_same_aggregate() -> None:
    index, hosted = OutcomeIndex(HOUR_MS), HostedAggregate(STOCK.initial)
    first = _run(index, hosted, "first", now_ms=0)
    for n in range(1000):
        _run(index, hosted, f"other-{n}", now_ms=n)
    version = hosted.version
    message, command = _restock("first")
    retried = decide(STOCK, hosted, message, command, PendingOutcomes(index, 2000))
    assert retried.replayed and retried.events == [] and retried.reply == first
    assert hosted.version == version  # nothing new was decided
    other, command = _restock("first", quantity=6)
    reused = decide(STOCK, hosted, other, command, PendingOutcomes(index, 2000))
    assert reused.reply.kind is OutcomeKind.KEY_REUSED


def test_an_outcome_expires_after_the_retention_and_is_swept_from_memory() -> None:
    index = OutcomeIndex(retention_ms=1000)
    key = record_key("SKU-1", "k")
    index.put(key, StoredOutcome("fp", ACCEPTED), written_ms=0)
    assert index.get(key, now_ms=999) == StoredOutcome("fp", ACCEPTED)
    assert index.get(key, now_ms=1000) is None  # past the retention: as if never seen
    assert index.sweep(now_ms=1000) == 1 and len(index) == 0


def test_a_batch_outcomes_join_the_index_only_when_it_commits() -> None:
    index = OutcomeIndex(HOUR_MS)
    aborted = PendingOutcomes(index, now_ms=0)
    aborted.remember("SKU-1", "k", "fp", ACCEPTED)
    assert aborted.get("SKU-1", "k") == StoredOutcome("fp", ACCEPTED)
    assert index.get(record_key("SKU-1", "k"), now_ms=0) is None  # never committed
    committed = PendingOutcomes(index, now_ms=0)
    committed.remember("SKU-1", "k", "fp", Reply(OutcomeKind.ACCEPTED, "SKU-1"))
    committed.remember("SKU-1", "k", "fp", ACCEPTED)  # completed with its position
    assert committed.records() == [(record_key("SKU-1", "k"), encode_outcome("fp", ACCEPTED))]
    committed.commit()
    assert index.get(record_key("SKU-1", "k"), now_ms=1) == StoredOutcome("fp", ACCEPTED)


def test_keys_of_different_aggregates_never_collide() -> None:
    assert record_key("a,b", "c") != record_key("a", "b,c")
    assert record_key("SKU-1", "k") != record_key("SKU-2", "k")


def test_the_outcomes_topic_loads_skipping_expired_records_and_tombstones() -> None:
    index = OutcomeIndex(retention_ms=1000)
    live, old = record_key("SKU-1", "live"), record_key("SKU-1", "old")
    index.load(live, encode_outcome("fp", ACCEPTED), written_ms=5000, now_ms=5500)
    index.load(old, encode_outcome("fp", ACCEPTED), written_ms=4000, now_ms=5500)
    assert index.get(live, 5500) == StoredOutcome("fp", ACCEPTED) and not index.contains(old)
    index.load(live, None, written_ms=5100, now_ms=5500)
    assert not index.contains(live)


def _old_snapshot(shape: str) -> bytes:
    """A snapshot as written before outcomes had their own topic."""
    outcomes = [{"key": "k", "fingerprint": "fp", "reply": ACCEPTED.to_json()}]
    state = {"on_hand": 3, "reservations": {}}
    return json.dumps({"shape": shape, "version": 1, "state": state, "outcomes": outcomes}).encode()


def test_outcomes_of_an_old_snapshot_are_read_whatever_the_state_shape() -> None:
    assert legacy_outcomes(_old_snapshot("another-shape")) == {"k": StoredOutcome("fp", ACCEPTED)}
    assert legacy_outcomes(SnapshotCodec(STOCK).encode(HostedAggregate(STOCK.initial, 1))) == {}


def _restored(records: list[tuple[str, bytes | None]], index: OutcomeIndex) -> RestoredPartition:
    """A partition restored from its state topic's records, in order (each written at 1000)."""
    rebuilding = PartitionRestore(SnapshotCodec(STOCK), index)
    for aggregate_id, value in records:
        rebuilding.snapshot(aggregate_id, value, 1000)
    return rebuilding.finish(now_ms=2000)


def test_a_stale_snapshot_forces_a_fold_but_keeps_its_outcomes_to_persist() -> None:
    restored = _restored([("SKU-1", _old_snapshot("another-shape"))], OutcomeIndex(HOUR_MS))
    key = record_key("SKU-1", "k")
    assert restored.folded
    assert restored.outcomes.get(key, 2000) == StoredOutcome("fp", ACCEPTED)
    assert restored.imported == {key: StoredOutcome("fp", ACCEPTED)}


def test_a_current_snapshot_restores_without_a_fold_and_the_topic_wins_over_old_outcomes() -> None:
    index = OutcomeIndex(HOUR_MS)
    key = record_key("SKU-1", "k")
    index.put(key, StoredOutcome("fp", Reply(OutcomeKind.REJECTED, detail="topic")), 900)
    current = SnapshotCodec(STOCK).encode(HostedAggregate(STOCK.initial, 7))
    restored = _restored([("SKU-1", current), ("SKU-2", _old_snapshot("x"))], index)
    assert restored.folded  # SKU-2's newest snapshot is of another shape
    restored = _restored([("SKU-1", current)], index)
    assert not restored.folded and restored.hosted["SKU-1"].version == 7
    assert restored.imported == {}


def test_only_each_aggregates_newest_snapshot_counts() -> None:
    current = SnapshotCodec(STOCK).encode(HostedAggregate(STOCK.initial, 7))
    records = [("SKU-1", _old_snapshot("x")), ("SKU-1", current), ("SKU-2", current)]
    restored = _restored([*records, ("SKU-2", None)], OutcomeIndex(HOUR_MS))
    assert not restored.folded and restored.imported == {}  # the old one was replaced
    assert restored.hosted["SKU-1"].version == 7
    assert restored.hosted.get("SKU-2") is None and len(restored.hosted) == 1  # a tombstone


def test_setup_declares_outcomes_topics_with_the_configured_retention() -> None:
    settings = Settings(_env_file=None, idempotency_retention_seconds=7200)
    specs = {s.name: s for s in declared_topics(CONTEXTS, settings.idempotency_retention_ms)}
    outcomes = specs[STOCK.outcomes_topic].config
    assert outcomes["retention.ms"] == "7200000"
    assert outcomes["cleanup.policy"] == "compact,delete"
    default = {s.name: s for s in declared_topics(CONTEXTS)}[STOCK.outcomes_topic].config
    assert default["retention.ms"] == str(DEFAULT_OUTCOME_RETENTION_MS) == str(86_400_000)
    assert Settings(_env_file=None).idempotency_retention_ms == DEFAULT_OUTCOME_RETENTION_MS


def test_after_a_fold_every_aggregate_gets_a_fresh_snapshot_and_old_outcomes_a_record() -> None:
    topics = RestoreTopics("state", "events", "outcomes")
    key = record_key("SKU-1", "k")
    folded = RestoredPartition(
        _store(
            {"SKU-1": HostedAggregate(STOCK.initial, 3), "SKU-2": HostedAggregate(STOCK.initial, 1)}
        ),
        OutcomeIndex(HOUR_MS),
        folded=True,
        imported={key: StoredOutcome("fp", ACCEPTED)},
    )
    records = restored_records(topics, folded)
    snapshots = {k: SnapshotCodec(STOCK).decode(v) for t, k, v in records if t == "state"}
    assert snapshots == {
        b"SKU-1": HostedAggregate(STOCK.initial, 3),
        b"SKU-2": folded.hosted["SKU-2"],
    }
    assert [(t, k, v) for t, k, v in records if t == "outcomes"] == [
        ("outcomes", key, encode_outcome("fp", ACCEPTED))
    ]
    current = RestoredPartition(
        _store({"SKU-1": HostedAggregate(STOCK.initial, 3)}), OutcomeIndex(HOUR_MS)
    )
    assert restored_records(topics, current) == []  # restored from current snapshots


def _store(hosted: dict[str, HostedAggregate[Any]]) -> AggregateStore:
    store = AggregateStore(SnapshotCodec(STOCK))
    store.load(hosted)
    return store
