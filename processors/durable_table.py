"""A Faust table whose changelog writes can be awaited.

faust-streaming queues a table write in the producer's buffer, and `app.producer.flush()` may
return before that buffer is drained (it gives up waiting after 0.1 s), so "flush, then send
the commands this state caused" does not make the state durable first. This table keeps the
futures of its changelog writes; `await table.durable()` returns once the broker acknowledged
every write so far (`acks=all` in `processors/app.py`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.types import FutureMessage

from processors.owned_table import OwnedKeysTable


class DurableTable(OwnedKeysTable):
    """A `faust.Table` with `durable()`; add it with `app.tables.add(DurableTable(...))`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unacknowledged: list[FutureMessage] = []

    def send_changelog(self, *args: Any, **kwargs: Any) -> FutureMessage:
        sent = super().send_changelog(*args, **kwargs)
        self._unacknowledged.append(sent)
        return sent

    async def durable(self, timeout: float | None = None) -> bool:
        """Wait until every changelog write so far is acknowledged (True), or `timeout` passed
        (False; the writes are not cancelled). Raises if a write failed."""
        pending, self._unacknowledged = self._unacknowledged, []
        if not pending:
            return True
        done, waiting = await asyncio.wait(pending, timeout=timeout)
        for sent in done:
            sent.result()  # raises what the send raised
        return not waiting


def durable_table(app: faust.App, name: str, **options: Any) -> DurableTable:
    """A DurableTable registered with `app`, like `app.Table(name, **options)`."""
    table = DurableTable(app=app, name=name, **options)
    app.tables.add(table)
    return table
