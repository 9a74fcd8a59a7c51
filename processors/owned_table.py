"""A Faust table that forgets the keys of a partition once it is revoked, written ones too.

faust-streaming's memory store learns a key's partition only when it restores the key from
the changelog (`_key_partition` in `faust/stores/memory.py`); after every rebalance it drops
the keys of partitions no longer assigned, but only those. A key this worker wrote itself
stayed in memory after its partition moved to another worker: a stale copy that `items()`
still lists (the saga watchdog then ticked sagas another worker owns), that grows with
every rebalance, and that resurfaces if the partition comes back after its owner deleted
the key and compaction removed the tombstone. Here every changelog write records its key's
partition as a restore would, so the store's own clean-up covers it.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import faust
from faust.types import FutureMessage
from faust.types.codecs import CodecArg


class OwnedKeysTable(faust.Table):
    """The app's table class (`Table=` in `processors/app.py`): `app.Table` makes these."""

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: CodecArg | None = None,
        value_serializer: CodecArg | None = None,
    ) -> FutureMessage:
        sent = super().send_changelog(partition, key, value, key_serializer, value_serializer)
        owners: MutableMapping[Any, int] | None = getattr(self.data, "_key_partition", None)
        if owners is not None:  # the memory store; others keep no such map
            written = sent.message.partition  # final: Faust partitions eagerly
            if value is None or written is None:
                owners.pop(key, None)  # deleted: nothing left to drop
            else:
                owners[key] = written
        return sent
