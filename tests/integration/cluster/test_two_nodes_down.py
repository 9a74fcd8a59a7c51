"""Two of three nodes killed under load: writes are refused with 503 and Retry-After (504 for
the few already sent to the survivor), nothing is half-written, and writes are taken again
once the nodes return, without restarting Skald.

With combined broker+controller nodes, two down is also the controller quorum lost: the
survivor keeps its last metadata and can't shrink an ISR or elect a leader, so a write is
not refused by the broker (NOT_ENOUGH_REPLICAS) but never acknowledged. The API's command
producer gives up at half the reply deadline and the API answers 503
(`eventstore/kafka_config.py` `command_producer_config`).
"""

from __future__ import annotations

import time

import httpx
import pytest

from contexts.inventory.aggregates import STOCK
from skald.services import Services
from tests.integration.cluster.nodes import KafkaCluster
from tests.integration.cluster.outage import outage
from tests.integration.cluster.replicas import leaders, wait_fully_replicated
from tests.integration.cluster.restocks import (
    ACCEPTED,
    UNAVAILABLE,
    Restock,
    RestockLoad,
    check_against_log,
    settle,
)
from tests.integration.commands.harness import SkaldProcess, read_events

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

SETTLING_SECONDS = 15  # commands in flight at the kill may still end in 504
OUTAGE_SECONDS = 60


def test_two_nodes_down_refuses_writes_with_503_and_recovers(
    services: Services, cluster: KafkaCluster, api: SkaldProcess, processor: SkaldProcess
) -> None:
    started = time.monotonic()
    load = RestockLoad(api.url).start()
    load.wait_acknowledged(100)
    led_by = leaders(cluster.bootstrap, services.settings.topic(STOCK.commands_topic))
    survivor = led_by[0]
    survivor_leads = {partition for partition, node_id in led_by.items() if node_id == survivor}
    down = [node_id for node_id in cluster.nodes if node_id != survivor]
    fault_at = time.monotonic()
    for node_id in down:
        cluster.kill(node_id)
    time.sleep(SETTLING_SECONDS)
    mark = len(load.commands)  # what is sent from here on meets the outage alone
    time.sleep(OUTAGE_SECONDS - SETTLING_SECONDS)
    back_at = time.monotonic()
    during = [c for c in load.commands[mark:] if c.answers and c.answers[0][0] < back_at]
    acknowledged_during = [c for c in during if c.first in ACCEPTED]

    for node_id in down:
        cluster.start(node_id)
    cluster.wait_serving(down)
    load.wait_acknowledged(load.acknowledged() + 50, timeout=300)
    back = outage(load.commands, back_at)
    load.stop()
    wait_fully_replicated(cluster.bootstrap)
    rejoined = time.monotonic() - back_at
    retries = settle(api.url, load.commands)

    events = read_events(services.settings, STOCK.events_topic, services.codec)
    check_against_log(load.commands, events)
    seen = outage(load.commands, fault_at)
    assert set(seen.answers) <= ACCEPTED | UNAVAILABLE, seen.answers
    assert during, "no command was answered during the outage"
    assert not acknowledged_during, f"acknowledged with two nodes down: {acknowledged_during[:3]}"
    refused = [c for c in during if c.first == 503 and c.retry_after[0]]
    timed_out = [c for c in during if c.first == 504]
    other = [(c.first, c.retry_after[0], c.sku) for c in during if c not in refused + timed_out]
    assert not other, f"{len(other)} of {len(during)} neither 503 + Retry-After nor 504: {other}"
    # Some writes end in 504 (no reply in time, "may still be applied"), not 503: a command
    # already in the survivor's log waits for followers that are gone, and librdkafka holds
    # an idempotent producer's possibly-written batch until the broker answers. Seen on
    # partitions the dead nodes led too (not explained yet; see the issue note). Bounded:
    # most writes are refused outright, and every one is settled by a retry with its key.
    assert len(refused) > len(timed_out), (len(refused), len(timed_out))
    assert back.recovered_after is not None
    assert _new_write_accepted(api.url)
    for skald in (api, processor):
        assert skald.process is not None and skald.process.poll() is None, skald.log()[-3000:]
    print(
        f"\n{seen.line('two nodes down')}; killed nodes {down}, survivor leads command "
        f"partitions {sorted(survivor_leads)}; answered during the outage "
        f"{len(during)} ({len(refused)} 503, {len(timed_out)} 504 on partitions "
        f"{sorted({c.partition for c in timed_out if c.partition is not None})}); writes back "
        f"{back.recovered_after:.1f} s after the restart began; fully replicated "
        f"{rejoined:.1f} s after it; retries to settle {retries}; "
        f"events {len(events)}; test {time.monotonic() - started:.0f} s"
    )


def _new_write_accepted(url: str) -> bool:
    command = Restock("SKU-after", 10**9)
    response = httpx.post(
        f"{url}/inventory/{command.sku}/restock",
        json={"quantity": 1},
        headers={"Idempotency-Key": command.key},
        timeout=30,
    )
    return response.status_code in ACCEPTED
