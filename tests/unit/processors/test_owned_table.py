"""A worker's tables forget a revoked partition's keys, the ones it wrote itself included:
the memory store's own clean-up after a rebalance, fed by every changelog write."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.types import TP

from processors.app import build_app
from processors.owned_table import OwnedKeysTable


class _Sent:
    """What `send_soon` returns: the message, its partition final (eager partitioning)."""

    def __init__(self, partition: int) -> None:
        self.message = type("Message", (), {"partition": partition})()


def _writes(table: faust.Table, monkeypatch: pytest.MonkeyPatch) -> None:
    """Changelog sends go nowhere (no broker) but say where they went."""

    def send_soon(*_: Any, partition: int, **__: Any) -> _Sent:
        return _Sent(partition)

    monkeypatch.setattr(table.changelog_topic, "send_soon", send_soon)


def test_written_keys_of_a_revoked_partition_are_dropped_after_the_rebalance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def run() -> list[bytes]:
        app = build_app("skald.worker", "localhost:9092", None, 3, 1, tmp_path)
        table = app.Table("sagas", default=None, key_type=bytes)
        assert isinstance(table, OwnedKeysTable)
        _writes(table, monkeypatch)
        for key, partition in ((b"kept", 0), (b"moved", 1), (b"deleted", 1)):
            table.data[key] = b"state"
            table.send_changelog(partition, key, b"state")
        del table.data[b"deleted"]
        table.send_changelog(1, b"deleted", None)
        changelog = table.changelog_topic.get_topic_name()
        await table.data.on_recovery_completed({TP(changelog, 0)}, set())  # 1 was revoked
        return sorted(table.data)

    assert asyncio.run(run()) == [b"kept"]
