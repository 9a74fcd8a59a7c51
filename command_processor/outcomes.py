"""Idempotency outcomes of one command partition, answerable for a retention however busy.

An outcome is the first reply to an aggregate's idempotency key and the fingerprint of the
request it answered. Each is a record on `<context>.<aggregate>.outcomes` (key = aggregate id
and idempotency key), co-partitioned with the commands and written in the transaction that
holds the command's events and reply, so the log and the outcomes can't diverge. The topic
is `compact,delete` with `retention.ms` = the retention. The processor keeps the live ones of
its partitions in memory, rebuilt from the topic on assignment.

Retention: an outcome is answered while it is younger than the retention (by its record's
timestamp), and treated as absent afterwards, the same in memory and after a restore. Memory
and restore time scale with the keyed commands of one retention (plus one topic segment),
not with an aggregate's lifetime or its share of the traffic.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

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


# One remembered outcome: its record's value as written (parsed only when a retry asks) and
# when it was written. A plain tuple of a bytes and an int, which the garbage collector stops
# tracking at its first young collection (a NamedTuple or a slotted class stays tracked): an
# index of a retention's outcomes (864,000 at 10 keyed commands/s for 24 h) adds nothing to
# the walk of a full collection, a pause of the processor's loop with commands waiting.
_Entry = tuple[bytes, int]


def _digest(key: bytes) -> bytes:
    """A fixed 16 bytes per key in memory (a collision among 10^9 keys: ~10^-21)."""
    return hashlib.blake2b(key, digest_size=16).digest()


class OutcomeIndex:
    """The committed, unexpired outcomes of one partition, by record key.

    About 0.5 KB of memory per outcome (measured with realistic saga keys and replies);
    loading one from the topic parses nothing.
    """

    def __init__(self, retention_ms: int) -> None:
        self.retention_ms = retention_ms
        self._entries: dict[bytes, _Entry] = {}
        self._next_sweep_ms = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes, now_ms: int) -> StoredOutcome | None:
        entry = self._entries.get(_digest(key))
        if entry is None:
            return None
        value, written_ms = entry
        if written_ms <= now_ms - self.retention_ms:
            return None
        outcome = json.loads(value)
        return StoredOutcome(str(outcome["fingerprint"]), Reply.from_json(outcome["reply"]))

    def contains(self, key: bytes) -> bool:
        return _digest(key) in self._entries

    def load(self, key: bytes, value: bytes | None, written_ms: int, now_ms: int) -> None:
        """Take one record of the outcomes topic; a tombstone forgets, an expired one is skipped."""
        if value is None:
            self._entries.pop(_digest(key), None)
        elif written_ms > now_ms - self.retention_ms:
            self._entries[_digest(key)] = (value, written_ms)

    def put(self, key: bytes, outcome: StoredOutcome, written_ms: int) -> None:
        self._entries[_digest(key)] = (
            encode_outcome(outcome.fingerprint, outcome.reply),
            written_ms,
        )

    def sweep(self, now_ms: int) -> int:
        """Drop expired outcomes, at most every 1/24 of the retention; returns how many.

        One pass over the index then; lookups already ignore expired entries in between.
        """
        if now_ms < self._next_sweep_ms:
            return 0
        self._next_sweep_ms = now_ms + max(self.retention_ms // 24, 1)
        horizon = now_ms - self.retention_ms
        live = {k: e for k, e in self._entries.items() if e[1] > horizon}
        dropped = len(self._entries) - len(live)
        if dropped:
            self._entries = live
        return dropped


class PendingOutcomes:
    """One transaction's new outcomes over a partition's committed index.

    They become part of the index only on `commit()`, so an aborted batch forgets them along
    with its events.
    """

    def __init__(self, index: OutcomeIndex, now_ms: int) -> None:
        self._index = index
        self._now_ms = now_ms
        self._new: dict[bytes, StoredOutcome] = {}

    def get(self, aggregate_id: str, key: str) -> StoredOutcome | None:
        record = record_key(aggregate_id, key)
        return self._new.get(record) or self._index.get(record, self._now_ms)

    def remember(self, aggregate_id: str, key: str, fingerprint: str, reply: Reply) -> None:
        # Remembered at decision time, so a duplicate later in the same batch replays it;
        # the accepted reply is remembered again once its events have positions.
        self._new[record_key(aggregate_id, key)] = StoredOutcome(fingerprint, reply)

    def records(self) -> list[tuple[bytes, bytes]]:
        """The outcome records this transaction writes: (key, value)."""
        return [
            (key, encode_outcome(outcome.fingerprint, outcome.reply))
            for key, outcome in self._new.items()
        ]

    def commit(self) -> None:
        """The transaction committed: its outcomes are now the partition's."""
        for key, value in self.records():
            self._index.load(key, value, self._now_ms, self._now_ms)
        self._index.sweep(self._now_ms)
