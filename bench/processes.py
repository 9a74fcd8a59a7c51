"""Skald processes a benchmark runs beside itself, silenced so they don't mix with the table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def spawn_skald(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`python -m skald <args>` with `env`, its output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", "skald", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3 of stat(5), utime and stime are fields 14, 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a live process and its direct children (PostgreSQL's backends)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return process_cpu_seconds(pid) + sum(process_cpu_seconds(int(c)) for c in children)
