"""A partition's hosted aggregates, with memory bounded however many the partition ever had.

Every aggregate is kept as its snapshot (the bytes its state topic holds) in a private SQLite
database on local disk; the most recently used ones are also kept decoded, in memory. A
partition of one-shot aggregates (an order per aggregate) used to keep every order it ever
hosted decoded in memory, about 400 bytes each: 3.5 GB a day at 100 orders/s. A closed
aggregate can't simply be forgotten, since a later command for it (a second `PlaceOrder`
with its id) must still be refused; here it waits on disk.

The database is private and temporary (`local_disk.py`): a cache of the state topic, never
the source of truth. Restore fills it from the topic, and a committed transaction writes its
snapshots to both.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from command_processor.hosted import HostedAggregate
from command_processor.local_disk import private_database, transaction
from command_processor.snapshots import SnapshotCodec

# Decoded aggregates kept in memory per partition: a hot SKU or account never touches disk.
DEFAULT_CACHED_AGGREGATES = 10_000


class AggregateStore:
    """The hosted aggregates of one partition: `get` one, `commit` a transaction's changes."""

    def __init__(self, snapshots: SnapshotCodec, cached: int = DEFAULT_CACHED_AGGREGATES) -> None:
        if cached < 1:
            raise ValueError("an aggregate store caches at least one aggregate")
        self._snapshots = snapshots
        self._cached = cached
        self._recent: OrderedDict[str, HostedAggregate[Any]] = OrderedDict()
        self._db = private_database(
            "CREATE TABLE snapshot (id TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"
        )

    def get(self, aggregate_id: str) -> HostedAggregate[Any] | None:
        """The aggregate as last committed, or None if the partition never had it.

        Treat it as read-only: a transaction works on a copy (`HostedAggregate.copy`).
        """
        hosted = self._recent.get(aggregate_id)
        if hosted is not None:
            self._recent.move_to_end(aggregate_id)
            return hosted
        row = self._db.execute(
            "SELECT value FROM snapshot WHERE id = ?", (aggregate_id,)
        ).fetchone()
        if row is None:
            return None
        hosted = self._snapshots.decode(row[0])
        self._remember(aggregate_id, hosted)
        return hosted

    def __getitem__(self, aggregate_id: str) -> HostedAggregate[Any]:
        hosted = self.get(aggregate_id)
        if hosted is None:
            raise KeyError(aggregate_id)
        return hosted

    def commit(self, changed: dict[str, tuple[HostedAggregate[Any], bytes]]) -> None:
        """A committed transaction's changed aggregates, each with the snapshot it wrote."""
        self.write((aggregate_id, snapshot) for aggregate_id, (_, snapshot) in changed.items())
        for aggregate_id, (hosted, _) in changed.items():
            self._remember(aggregate_id, hosted)

    def load(self, hosted: Mapping[str, HostedAggregate[Any]]) -> None:
        """Aggregates rebuilt elsewhere (folded from their events)."""
        self.write((i, self._snapshots.encode(aggregate)) for i, aggregate in hosted.items())

    def write(self, snapshots: Iterable[tuple[str, bytes | None]]) -> None:
        """Snapshots as read from the state topic, in order (None: a tombstone)."""
        with transaction(self._db):
            for aggregate_id, value in snapshots:
                self._recent.pop(aggregate_id, None)
                if value is None:
                    self._db.execute("DELETE FROM snapshot WHERE id = ?", (aggregate_id,))
                else:
                    self._db.execute(
                        "INSERT OR REPLACE INTO snapshot VALUES (?, ?)", (aggregate_id, value)
                    )

    def any_stale(self) -> bool:
        """Whether any aggregate's snapshot was written for another shape of the state."""
        prefix = self._snapshots.prefix  # SQLite skips the current ones without decoding
        rows = self._db.execute(
            "SELECT value FROM snapshot WHERE substr(value, 1, ?) != ?", (len(prefix), prefix)
        )
        return any(not self._snapshots.is_current(value) for (value,) in rows)

    def snapshots(self) -> Iterator[tuple[str, bytes]]:
        """Every aggregate's snapshot (a reseed writes them all back to the state topic)."""
        yield from self._db.execute("SELECT id, value FROM snapshot ORDER BY id")

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM snapshot").fetchone()[0])

    @property
    def in_memory(self) -> int:
        """How many aggregates are kept decoded."""
        return len(self._recent)

    def close(self) -> None:
        """Drop the store (a revoked partition): its file goes with it."""
        self._recent.clear()
        self._db.close()

    def _remember(self, aggregate_id: str, hosted: HostedAggregate[Any]) -> None:
        self._recent[aggregate_id] = hosted
        self._recent.move_to_end(aggregate_id)
        if len(self._recent) > self._cached:
            self._recent.popitem(last=False)
