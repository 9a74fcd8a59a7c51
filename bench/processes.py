"""Skald processes a benchmark runs beside itself, silenced so they don't mix with the table."""

from __future__ import annotations

import subprocess
import sys


def spawn_skald(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`python -m skald <args>` with `env`, its output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", "skald", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
