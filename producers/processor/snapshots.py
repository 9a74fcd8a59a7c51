"""Aggregate snapshots in a compacted topic: the processor's state survives restarts cheaply.

Each transaction that changes an aggregate also writes its new snapshot (key = aggregate id),
so restoring a partition reads one record per aggregate, however long its history. A
snapshot carries a fingerprint of the state class's shape: after a code change that alters
the shape, old snapshots are ignored and the partition is rebuilt from its events.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from typing import Any

from eventstore.aggregate import AggregateType
from eventstore.mapper import from_plain, to_plain
from producers.processor.records import AggregateRecord


def shape_fingerprint(state_class: type) -> str:
    """A short hash of the state class's fields and their types."""
    hints = typing.get_type_hints(state_class)
    shape = [(f.name, str(hints[f.name])) for f in dataclasses.fields(state_class)]
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:16]


class StaleSnapshot(Exception):
    """A snapshot written for another shape of the state class."""


class SnapshotCodec:
    """JSON snapshots of one aggregate type's records."""

    def __init__(self, aggregate: AggregateType[Any]) -> None:
        self._aggregate = aggregate
        self._shape = shape_fingerprint(aggregate.state_class)

    def encode(self, record: AggregateRecord[Any]) -> bytes:
        snapshot = {
            "shape": self._shape,
            "version": record.version,
            "state": to_plain(record.state),
            "outcomes": record.outcomes_json(),
        }
        return json.dumps(snapshot, default=str, separators=(",", ":")).encode()

    def decode(self, value: bytes) -> AggregateRecord[Any]:
        snapshot = json.loads(value)
        if snapshot.get("shape") != self._shape:
            raise StaleSnapshot(f"{self._aggregate.name} snapshot has another state shape")
        return AggregateRecord(
            state=from_plain(self._aggregate.state_class, snapshot["state"]),
            version=int(snapshot["version"]),
            outcomes=AggregateRecord.outcomes_from_json(snapshot["outcomes"]),
        )
