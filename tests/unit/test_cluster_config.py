"""The local three-node cluster's rendered node configs: one quorum, MSK's durability."""

from __future__ import annotations

import sys
from pathlib import Path

from skald.settings import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "deploy" / "local"))
from stacklib.cluster import three_nodes
from stacklib.layout import make_layout


def _rendered(tmp_path: Path) -> dict[int, dict[str, str]]:
    cluster = three_nodes(tmp_path, make_layout(), tmp_path / "libs")
    for node in cluster.nodes.values():  # render only: no storage tool, no JVM
        (node.data).mkdir(parents=True)
        (node.data / "meta.properties").write_text("cluster.id=x\n")
    cluster.prepare()
    return {
        node_id: dict(
            line.split("=", 1)
            for line in node.config.read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        for node_id, node in cluster.nodes.items()
    }


def test_three_nodes_share_one_quorum_on_their_own_ports(tmp_path: Path) -> None:
    configs = _rendered(tmp_path)
    voters = {config["controller.quorum.voters"] for config in configs.values()}
    assert voters == {"1@localhost:19192,2@localhost:19193,3@localhost:19194"}
    assert [c["node.id"] for c in configs.values()] == ["1", "2", "3"]
    listeners = {c["listeners"] for c in configs.values()}
    assert len(listeners) == 3 and not any(":9092," in x for x in listeners)
    assert len({c["log.dirs"] for c in configs.values()}) == 3


def test_every_node_has_msk_durability(tmp_path: Path) -> None:
    for config in _rendered(tmp_path).values():
        assert config["default.replication.factor"] == "3"
        assert config["min.insync.replicas"] == "2"
        assert config["offsets.topic.replication.factor"] == "3"
        assert config["transaction.state.log.replication.factor"] == "3"
        assert config["transaction.state.log.min.isr"] == "2"
        assert config["unclean.leader.election.enable"] == "false"
