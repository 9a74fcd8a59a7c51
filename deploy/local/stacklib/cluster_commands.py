"""The commands up, down and status of the local three-node cluster (deploy/local/cluster.py)."""

from __future__ import annotations

import argparse
import sys

from .cluster import KafkaCluster, three_nodes
from .kafka import kafka_fetch
from .layout import make_layout
from .output import StackError, say
from .processes import stack_lock

# What a Skald process needs to use the cluster with MSK's topic settings.
ENVIRONMENT = "SKALD_TOPIC_REPLICATION=3 SKALD_TOPIC_MIN_INSYNC_REPLICAS=2"


def up(cluster: KafkaCluster) -> int:
    """Start the nodes that are not running; wait until all three serve."""
    cluster.prepare()
    for node_id in cluster.nodes:
        pid = cluster.pid(node_id)
        if pid is None:
            pid = cluster.start(node_id, detached=True)
            say(f"kafka-{node_id}", f"started pid {pid} (log {cluster.nodes[node_id].log})")
        else:
            say(f"kafka-{node_id}", f"already running (pid {pid})")
    cluster.wait_serving()
    print(f"cluster is up: SKALD_KAFKA_BOOTSTRAP={cluster.bootstrap} {ENVIRONMENT}")
    return 0


def down(cluster: KafkaCluster) -> int:
    """Stop the nodes this script recorded."""
    cluster.stop_all()
    say("cluster", "stopped")
    return 0


def status(cluster: KafkaCluster) -> int:
    """Print each node's pid and whether it serves; exit 3 unless all three do."""
    healthy = True
    for node_id, node in cluster.nodes.items():
        pid = cluster.pid(node_id)
        serving = pid is not None and cluster.serving(node_id)
        healthy &= serving
        state = f"running  pid {pid:<8}" if pid else "stopped              "
        print(f"kafka-{node_id}  {state} {node.address}  serving={'yes' if serving else 'no'}")
    return 0 if healthy else 3


def main() -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Local three-node Kafka cluster.")
    parser.add_argument("command", choices=["up", "down", "status"])
    command = parser.parse_args().command
    lay = make_layout()
    cluster = three_nodes(lay.stack / "cluster", lay, lay.kafka_home / "libs")
    try:
        if command == "status":
            return status(cluster)
        with stack_lock(lay):
            if command == "up":
                kafka_fetch(lay)
                return up(cluster)
            return down(cluster)
    except StackError as error:
        print(f"cluster: error: {error}", file=sys.stderr, flush=True)
        return 1
