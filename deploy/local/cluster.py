#!/usr/bin/env python3
"""A local three-node Kafka cluster (KRaft, combined roles) beside the one-broker stack.

Usage (from the repo root):
    .venv/bin/python deploy/local/cluster.py up|down|status

Nodes listen on localhost:19092-19094 (controllers 19192-19194) and keep their config, data,
logs and pidfiles in <stack>/cluster/node-<n>/. Topics there take replication 3 and
`min.insync.replicas=2`, as on MSK. Only the entry point: the code is in
stacklib/cluster.py and stacklib/cluster_commands.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    HERE = str(Path(__file__).resolve().parent)
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    from stacklib.cluster_commands import main

    sys.exit(main())
