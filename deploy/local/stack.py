#!/usr/bin/env python3
"""Local service stack for Skald without Docker: Kafka (KRaft), PostgreSQL and OpenSearch.

Usage (from the repo root):
    .venv/bin/python deploy/local/stack.py up|down|status|clean [--all] [--only kafka,postgres]

Only the entry point: the code lives in the package deploy/local/stacklib/ (see its docstring).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Python puts this directory first on sys.path already, except under -P/-I/PYTHONSAFEPATH.
    HERE = str(Path(__file__).resolve().parent)
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    from stacklib.commands import main

    sys.exit(main())
