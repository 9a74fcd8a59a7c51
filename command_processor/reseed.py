"""After a restore, write what it rebuilt that its topics lack, so the next restore is bounded.

A partition folded from its events (its snapshots had another state shape) gets a fresh
snapshot per aggregate; outcomes read from snapshots written before the outcomes topic go
onto that topic (their record time is now, so they may live up to one retention longer).
Both in one transaction of the instance's `TransactionSession`, before the partition takes
any command. The transaction moves no offset, but it carries the partition's committed offset
as it is (when it has one) with the consumer's group metadata: the broker then refuses it
from an instance that has lost the partition meanwhile (KIP-447 fencing, as for commands),
and a successor's restore (`require_stable`) waits for it to finish, so a zombie's stale
snapshot can't land over a successor's newer one.
"""

from __future__ import annotations

import logging

from confluent_kafka import TopicPartition

from command_processor.outcomes import encode_outcome
from command_processor.restore import RestoredPartition, RestoreTopics
from command_processor.session import SessionReset, TransactionAborted, TransactionSession

log = logging.getLogger(__name__)

Record = tuple[str, bytes, bytes]  # topic, key, value


def restored_records(topics: RestoreTopics, restored: RestoredPartition) -> list[Record]:
    """What the partition's topics lack of `restored`: none if it came from current snapshots."""
    records: list[Record] = []
    if restored.folded:
        records += [
            (topics.state, aggregate_id.encode(), snapshot)
            for aggregate_id, snapshot in restored.hosted.snapshots()
        ]
    records += [
        (topics.outcomes, key, encode_outcome(outcome.fingerprint, outcome.reply))
        for key, outcome in restored.imported.items()
    ]
    return records


def reseed(
    session: TransactionSession,
    topics: RestoreTopics,
    committed: TopicPartition,
    restored: RestoredPartition,
    group_metadata: object,
) -> int:
    """Write them and clear them from `restored`; returns how many records were written.

    `committed` is the command partition at its committed offset (negative: none yet).
    Must run between transactions (the session has none open). A failure is logged, not
    raised: the transaction was aborted (or the producer replaced, which completes it), the
    partition serves from what restore rebuilt, and the next restore folds again and reads
    the old snapshots' outcomes again (unless a command has rewritten that aggregate's
    snapshot meanwhile).
    """
    partition = committed.partition
    records = restored_records(topics, restored)
    if not records:
        return 0  # no transaction
    try:
        _write(session, committed, records, group_metadata)
    except (TransactionAborted, SessionReset) as error:
        log.warning("%s[%d]: restored records not rewritten: %s", topics.state, partition, error)
        return 0
    log.info("%s[%d]: wrote %d restored records", topics.state, partition, len(records))
    restored.folded = False
    restored.imported.clear()
    return len(records)


def _write(
    session: TransactionSession,
    committed: TopicPartition,
    records: list[Record],
    group_metadata: object,
) -> None:
    session.begin()
    try:
        for topic, key, value in records:
            session.produce(topic, key, value, [], committed.partition)
        if committed.offset >= 0:
            # No command consumed: the offset stays where it is, but the broker checks the
            # group generation. librdkafka sends nothing for a partition without an offset.
            session.send_offsets([committed], group_metadata)
        session.flush()
        session.commit()
    except Exception:
        if session.in_transaction:
            session.abort()
        raise
