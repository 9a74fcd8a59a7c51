"""The worker's producer sends all of a broker's batches once one of them is due."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.structs import TopicPartition

from processors.producer_batching import BrokerBatchingAccumulator

LINGER_MS = 60_000  # nothing becomes due by itself while a test runs


class _Cluster:
    """Partitions 0 and 1 led by broker 1, partition 2 by broker 2."""

    def leader_for_partition(self, tp: TopicPartition) -> int:
        return 2 if tp.partition == 2 else 1


async def _drained(*due: int, writes: tuple[int, ...] = (0, 1, 2)) -> dict[Any, Any]:
    accumulator = BrokerBatchingAccumulator(
        _Cluster(), 16384, 0, 30, loop=asyncio.get_running_loop(), linger_ms=LINGER_MS
    )
    for partition in writes:
        await accumulator.add_message(TopicPartition("t", partition), b"k", b"v", timeout=1)
    for partition in due:  # its linger has passed
        accumulator._batches[TopicPartition("t", partition)][0]._linger_time = 0
    nodes, _unknown_leaders = accumulator.drain_by_nodes(ignore_nodes=set())
    return {node: sorted(tp.partition for tp in batches) for node, batches in nodes.items()}


def test_a_due_batch_takes_the_other_batches_of_its_broker_along() -> None:
    assert asyncio.run(_drained(0)) == {1: [0, 1]}  # broker 2's batch waits for its linger


def test_nothing_leaves_before_a_batch_is_due() -> None:
    assert asyncio.run(_drained()) == {}


def test_each_broker_with_a_due_batch_gets_all_of_its_batches() -> None:
    assert asyncio.run(_drained(1, 2)) == {1: [0, 1], 2: [2]}
