"""kill -9 of the node leading a command partition, under load through the API: no
acknowledged command lost or doubled, versions contiguous, Skald recovers without a restart."""

from __future__ import annotations

import time

import pytest

from contexts.inventory.aggregates import STOCK
from skald.services import Services
from tests.integration.cluster.nodes import KafkaCluster
from tests.integration.cluster.outage import outage
from tests.integration.cluster.replicas import leader_of, wait_fully_replicated
from tests.integration.cluster.restocks import (
    ACCEPTED,
    UNAVAILABLE,
    RestockLoad,
    check_against_log,
    settle,
)
from tests.integration.commands.harness import SkaldProcess, read_events

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1200)]

AFTER_KILL_SECONDS = 45  # past the controller's fencing of the dead node (9 s) and a rebalance


def test_killing_a_command_partitions_leader_loses_nothing(
    services: Services, cluster: KafkaCluster, api: SkaldProcess, processor: SkaldProcess
) -> None:
    started = time.monotonic()
    commands_topic = services.settings.topic(STOCK.commands_topic)
    load = RestockLoad(api.url).start()
    load.wait_acknowledged(100)
    victim = leader_of(cluster.bootstrap, commands_topic, 0)
    fault_at = time.monotonic()
    cluster.kill(victim)
    acknowledged_at_kill = load.acknowledged()
    load.wait_acknowledged(acknowledged_at_kill + 100, timeout=300)  # writes go on, on two
    time.sleep(AFTER_KILL_SECONDS)
    load.stop()
    seen = outage(load.commands, fault_at, partition=0)

    restarted_at = time.monotonic()
    cluster.start(victim)  # back as a follower; it catches up, then the test is whole again
    cluster.wait_serving([victim])
    wait_fully_replicated(cluster.bootstrap)
    rejoined = time.monotonic() - restarted_at
    retries = settle(api.url, load.commands)

    events = read_events(services.settings, STOCK.events_topic, services.codec)
    check_against_log(load.commands, events)
    assert set(seen.answers) <= ACCEPTED | UNAVAILABLE, seen.answers
    assert seen.recovered_after is not None, "partition 0 never took a write after the kill"
    for skald in (api, processor):
        assert skald.process is not None and skald.process.poll() is None, skald.log()[-3000:]
    print(
        f"\n{seen.line('leader kill')}; killed node {victim}; retries to settle {retries}; "
        f"node back in every ISR {rejoined:.1f} s after its restart; events {len(events)}; "
        f"test {time.monotonic() - started:.0f} s"
    )
