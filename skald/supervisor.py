"""Runs several Skald processes in the foreground, prefixes their output, stops them together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True, slots=True)
class Child:
    """A named command line."""

    name: str
    argv: list[str]


def _relay(name: str, width: int, stream: IO[str]) -> None:
    for line in stream:
        sys.stdout.write(f"{name:<{width}} | {line}")
        sys.stdout.flush()


def supervise(children: list[Child], grace_seconds: float = 15.0) -> int:
    """Start every child; when one exits or we get SIGINT/SIGTERM, stop the rest.

    Returns 0 after a requested stop, else the exit code of the child that died first.
    """
    width = max(len(child.name) for child in children)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    processes: dict[str, subprocess.Popen[str]] = {}
    for child in children:
        process = subprocess.Popen(
            child.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        assert process.stdout is not None
        threading.Thread(
            target=_relay, args=(child.name, width, process.stdout), daemon=True
        ).start()
        processes[child.name] = process
    exit_code = 0
    while not stop.is_set():
        dead = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
        if dead:
            name, exit_code = next(iter(dead.items()))
            print(f"skald: {name} exited with code {exit_code}; stopping the others", flush=True)
            exit_code = exit_code or 1
            break
        stop.wait(0.5)
    _terminate(list(processes.values()), grace_seconds)
    return exit_code


def _terminate(processes: list[subprocess.Popen[str]], grace_seconds: float) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
