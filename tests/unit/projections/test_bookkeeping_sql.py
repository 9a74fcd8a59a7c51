"""The per-batch bookkeeping SQL of PostgreSQL projections: fixed text, forward-only writes."""

from __future__ import annotations

from projections.postgres.bookkeeping import batch_statements, forward


def test_checkpoints_only_move_forward_and_new_partitions_are_written() -> None:
    stored = {("t", 0): 10, ("t", 1): 5}
    offsets = {("t", 1): 7, ("t", 0): 10, ("t", 2): 3, ("t", 3): 0}
    assert forward(stored, offsets) == [(("t", 1), 7), (("t", 2), 3), (("t", 3), 0)]
    assert forward(stored, {("t", 0): 9}) == []


def test_batch_statements_are_the_same_text_for_every_batch_and_name_the_schema() -> None:
    lock, write = batch_statements("ns")
    assert (lock, write) == batch_statements("ns")  # prepared once by psycopg, reused
    assert '"ns".skald_projection_generations' in lock
    assert (
        '"ns".skald_projection_checkpoints' in lock and '"ns".skald_projection_checkpoints' in write
    )
    # The registry row is locked before the checkpoints, and these in one order everywhere.
    assert lock.index("FOR SHARE") < lock.index("FOR UPDATE")
    assert 'ORDER BY topic, "partition" FOR UPDATE' in lock
