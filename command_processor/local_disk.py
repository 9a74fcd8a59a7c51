"""Local disk for what a partition must keep but need not hold in memory: SQLite's private
temporary databases.

An empty file name gives a database only its connection sees, on local disk, unlinked when
it is created: closed, or its process killed, it is gone, so nothing needs cleaning up and
nothing stale is ever read back. It caches what the partition's topics hold (the topics are
the truth, and a restore fills it again), so it runs without a journal or fsync. Its pages
sit in SQLite's page cache (2 MB per database by default) and in the temporary directory
(`SQLITE_TMPDIR`, else `/var/tmp` or `/tmp`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


def private_database(*schema: str) -> sqlite3.Connection:
    """A new private database with `schema` (statements) created; autocommit between
    `transaction`s."""
    db = sqlite3.connect("", isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    for statement in schema:
        db.execute(statement)
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One SQLite transaction around a batch of writes, not one per row."""
    db.execute("BEGIN")
    with db:  # commits, or rolls back on an exception
        yield
