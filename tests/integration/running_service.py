"""Starts `skald run` as a real process, as `make run` does, on a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from skald.settings import Settings


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(settings: Settings, port: int) -> dict[str, str]:
    """The environment that points a Skald process at the test's services and namespace."""
    return {
        **os.environ,
        "SKALD_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SKALD_PG_DSN": settings.pg_dsn,
        "SKALD_OPENSEARCH_URL": settings.opensearch_url,
        "SKALD_NAMESPACE": settings.namespace,
        "SKALD_API_PORT": str(port),
        "SKALD_COMMAND_TIMEOUT_SECONDS": str(settings.command_timeout_seconds),
    }


@contextlib.contextmanager
def running_skald(settings: Settings, log_path: Path, timeout: float = 60.0) -> Iterator[str]:
    """Run `skald run` until the block ends, then stop it with SIGINT as Ctrl-C would."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "skald", "run"],
            env=environment(settings, port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base_url, process, log_path, timeout)
            yield base_url
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                raise AssertionError("skald run ignored Ctrl-C for 30 s") from None
    assert process.returncode == 0, (
        f"skald run exited {process.returncode}:\n{log_path.read_text()}"
    )


def _wait_healthy(
    base_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"skald run exited early:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"skald run not healthy after {timeout} s:\n{log.read_text()}")
