"""Aggregate snapshots in a compacted topic: the processor's state survives restarts cheaply.

Each transaction that changes an aggregate also writes its new snapshot (key = aggregate id),
so restoring a partition reads one record per aggregate, however long its history. A
snapshot carries a fingerprint of the state class's shape: after a code change that alters
the shape, old snapshots are ignored and the partition is rebuilt from its events.

Snapshots written before outcomes had their own topic also carry the aggregate's last
outcomes; `legacy_outcomes` reads them (whatever the state's shape) so a restore keeps them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from typing import Any

from command_processor.hosted import HostedAggregate
from command_processor.outcomes import StoredOutcome
from eventstore.aggregate import AggregateType
from eventstore.mapper import from_plain, to_plain
from producers.messages import Reply


def shape_fingerprint(state_class: type) -> str:
    """A short hash of the state class's fields and their types."""
    # A class's shape is fixed while it runs; resolving its hints is not cheap (a codec is
    # made per partition per batch).
    known = _SHAPES.get(state_class)
    if known is None:
        known = _SHAPES[state_class] = _fingerprint(state_class)
    return known


_SHAPES: dict[type, str] = {}


def _fingerprint(state_class: type) -> str:
    hints = typing.get_type_hints(state_class)
    shape = [(f.name, str(hints[f.name])) for f in dataclasses.fields(state_class)]
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:16]


class StaleSnapshot(Exception):
    """A snapshot written for another shape of the state class."""


class SnapshotCodec:
    """JSON snapshots of one aggregate type's hosted aggregates."""

    def __init__(self, aggregate: AggregateType[Any]) -> None:
        self._aggregate = aggregate
        self._shape = shape_fingerprint(aggregate.state_class)
        # How every snapshot `encode` writes begins (JSON keeps the keys' order).
        self.prefix = b'{"shape":"' + self._shape.encode() + b'"'

    def encode(self, hosted: HostedAggregate[Any]) -> bytes:
        snapshot = {
            "shape": self._shape,
            "version": hosted.version,
            "state": to_plain(hosted.state),
        }
        # UTF-8 as it is: escaped, an emoji takes 12 bytes and a valid order's snapshot
        # could pass Kafka's record limit (producers/limits.py MAX_COMMAND_BYTES).
        text = json.dumps(snapshot, default=str, separators=(",", ":"), ensure_ascii=False)
        return text.encode()

    def is_current(self, value: bytes) -> bool:
        """Whether the snapshot was written for the current shape of the state class."""
        return value.startswith(self.prefix) or json.loads(value).get("shape") == self._shape

    def decode(self, value: bytes) -> HostedAggregate[Any]:
        snapshot = json.loads(value)
        if snapshot.get("shape") != self._shape:
            raise StaleSnapshot(f"{self._aggregate.name} snapshot has another state shape")
        return HostedAggregate(
            state=from_plain(self._aggregate.state_class, snapshot["state"]),
            version=int(snapshot["version"]),
        )


def legacy_outcomes(value: bytes) -> dict[str, StoredOutcome]:
    """The outcomes an older snapshot carries, by idempotency key (none in current ones)."""
    items = json.loads(value).get("outcomes") or []
    return {
        str(item["key"]): StoredOutcome(str(item["fingerprint"]), Reply.from_json(item["reply"]))
        for item in items
    }
