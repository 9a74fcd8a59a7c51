"""What the user sees: progress lines, log tails, and the error type whose message is for them."""

from __future__ import annotations

import time
from pathlib import Path

LOG_TAIL_LINES = 40
T0 = time.monotonic()


class StackError(Exception):
    """A failure with a message meant for the user."""


def say(svc: str, msg: str) -> None:
    """Print one progress line with elapsed seconds and the service name."""
    print(f"[{time.monotonic() - T0:6.1f}s] {svc:<10} {msg}", flush=True)


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last lines of a log file (or a note that it is missing)."""
    try:
        data = path.read_bytes()[-256 * 1024 :]
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])
