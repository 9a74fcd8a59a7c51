"""PostgreSQL read models: the sink, and the storage of its generations and checkpoints."""

from projections.postgres.sink import PostgresSink

__all__ = ["PostgresSink"]
