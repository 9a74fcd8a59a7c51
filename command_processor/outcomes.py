"""Idempotency outcomes of one command partition, answerable for a retention however busy.

An outcome is the first reply to an aggregate's idempotency key and the fingerprint of the
request it answered. Each is a record on `<context>.<aggregate>.outcomes` (key = aggregate id
and idempotency key), co-partitioned with the commands and written in the transaction that
holds the command's events and reply, so the log and the outcomes can't diverge. The topic
is `compact,delete` with `retention.ms` = the retention. The processor keeps the live ones of
its partitions on local disk (`local_disk.py`), rebuilt from the topic on assignment: a
retention's outcomes at saga traffic (six keyed commands per order; 100 orders/s for 24 h is
52 million) would not fit in memory at about 0.45 KB each, as they were kept before.

Retention: an outcome is answered while it is younger than the retention (by its record's
timestamp), and treated as absent afterwards, the same before and after a restore. Disk and
restore time scale with the keyed commands of one retention (plus one topic segment), not
with an aggregate's lifetime or its share of the traffic; memory does not scale at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from command_processor.local_disk import private_database, transaction
from producers.messages import Reply


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    """The first reply to an idempotency key, and the request it answered."""

    fingerprint: str
    reply: Reply


class Outcomes(Protocol):
    """What a decision needs: look up, and remember, the outcome of an aggregate's key."""

    def get(self, aggregate_id: str, key: str) -> StoredOutcome | None: ...

    def remember(self, aggregate_id: str, key: str, fingerprint: str, reply: Reply) -> None: ...


def record_key(aggregate_id: str, key: str) -> bytes:
    """The outcome's record key: unambiguous whatever characters either part holds."""
    return json.dumps([aggregate_id, key], separators=(",", ":")).encode()


def encode_outcome(fingerprint: str, reply: Reply) -> bytes:
    """An outcome record's value."""
    outcome = {"fingerprint": fingerprint, "reply": reply.to_json()}
    return json.dumps(outcome, separators=(",", ":")).encode()


def _digest(key: bytes) -> bytes:
    """A fixed 16 bytes per key (a collision among 10^9 keys: ~10^-21)."""
    return hashlib.blake2b(key, digest_size=16).digest()


class OutcomeIndex:
    """The committed, unexpired outcomes of one partition, by record key, on local disk.

    Each is kept as its record's value as written (parsed only when a retry asks), with the
    time it was written; loading one from the topic parses nothing.
    """

    def __init__(self, retention_ms: int) -> None:
        self.retention_ms = retention_ms
        self._db = private_database(
            "CREATE TABLE outcome (digest BLOB PRIMARY KEY, value BLOB NOT NULL,"
            " written_ms INTEGER NOT NULL) WITHOUT ROWID",
            "CREATE INDEX outcome_written ON outcome (written_ms)",  # the sweep's range
        )
        self._next_sweep_ms = 0

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM outcome").fetchone()[0])

    def get(self, key: bytes, now_ms: int) -> StoredOutcome | None:
        row = self._db.execute(
            "SELECT value, written_ms FROM outcome WHERE digest = ?", (_digest(key),)
        ).fetchone()
        if row is None:
            return None
        value, written_ms = row
        if written_ms <= now_ms - self.retention_ms:
            return None
        outcome = json.loads(value)
        return StoredOutcome(str(outcome["fingerprint"]), Reply.from_json(outcome["reply"]))

    def contains(self, key: bytes) -> bool:
        found = self._db.execute("SELECT 1 FROM outcome WHERE digest = ?", (_digest(key),))
        return found.fetchone() is not None

    def load(self, key: bytes, value: bytes | None, written_ms: int, now_ms: int) -> None:
        """Take one record of the outcomes topic; a tombstone forgets, an expired one is skipped."""
        self.load_all([(key, value, written_ms)], now_ms)

    def load_all(self, records: Iterable[tuple[bytes, bytes | None, int]], now_ms: int) -> None:
        """Records of the outcomes topic in order: (key, value, written_ms), in one write."""
        horizon = now_ms - self.retention_ms
        with transaction(self._db):
            for key, value, written_ms in records:
                if value is None:
                    self._db.execute("DELETE FROM outcome WHERE digest = ?", (_digest(key),))
                elif written_ms > horizon:
                    self._db.execute(
                        "INSERT OR REPLACE INTO outcome VALUES (?, ?, ?)",
                        (_digest(key), value, written_ms),
                    )

    def put(self, key: bytes, outcome: StoredOutcome, written_ms: int) -> None:
        value = encode_outcome(outcome.fingerprint, outcome.reply)
        self._db.execute(
            "INSERT OR REPLACE INTO outcome VALUES (?, ?, ?)", (_digest(key), value, written_ms)
        )

    def sweep(self, now_ms: int) -> int:
        """Drop expired outcomes, at most every 1/24 of the retention; returns how many.

        A range of the index on their write time; lookups already ignore expired ones.
        """
        if now_ms < self._next_sweep_ms:
            return 0
        self._next_sweep_ms = now_ms + max(self.retention_ms // 24, 1)
        horizon = now_ms - self.retention_ms
        return self._db.execute("DELETE FROM outcome WHERE written_ms <= ?", (horizon,)).rowcount

    def close(self) -> None:
        """Drop the index (a revoked partition): its file goes with it."""
        self._db.close()


class PendingOutcomes:
    """One transaction's new outcomes over a partition's committed index.

    They become part of the index only on `commit()`, so an aborted batch forgets them along
    with its events.
    """

    def __init__(self, index: OutcomeIndex, now_ms: int) -> None:
        self._index = index
        self._now_ms = now_ms
        self._new: dict[bytes, StoredOutcome] = {}
        self._encoded: list[tuple[bytes, bytes]] | None = None  # `records()`, once encoded

    def get(self, aggregate_id: str, key: str) -> StoredOutcome | None:
        record = record_key(aggregate_id, key)
        return self._new.get(record) or self._index.get(record, self._now_ms)

    def remember(self, aggregate_id: str, key: str, fingerprint: str, reply: Reply) -> None:
        # Remembered at decision time, so a duplicate later in the same batch replays it;
        # the accepted reply is remembered again once its events have positions.
        self._new[record_key(aggregate_id, key)] = StoredOutcome(fingerprint, reply)
        self._encoded = None

    def records(self) -> list[tuple[bytes, bytes]]:
        """The outcome records this transaction writes: (key, value). Encoded once: the
        transaction writes them and the index keeps the same bytes on commit."""
        if self._encoded is None:
            self._encoded = [
                (key, encode_outcome(outcome.fingerprint, outcome.reply))
                for key, outcome in self._new.items()
            ]
        return self._encoded

    def commit(self) -> None:
        """The transaction committed: its outcomes are now the partition's."""
        now_ms = self._now_ms
        if self._new:
            self._index.load_all(((k, v, now_ms) for k, v in self.records()), now_ms)
        self._index.sweep(now_ms)
