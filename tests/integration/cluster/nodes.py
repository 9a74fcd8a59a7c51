"""The local stack's three-node cluster code, importable from the tests."""

from __future__ import annotations

import sys

from skald.settings import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "deploy" / "local"))
from stacklib.cluster import KafkaCluster, three_nodes
from stacklib.layout import make_layout

__all__ = ["KafkaCluster", "make_layout", "three_nodes"]
