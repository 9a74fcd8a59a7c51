"""PostgreSQL read models: the sink, and the storage of its generations and checkpoints."""

from projections.postgres.sink import PostgresSink
from projections.postgres.upsert import insert_rows

__all__ = ["PostgresSink", "insert_rows"]
