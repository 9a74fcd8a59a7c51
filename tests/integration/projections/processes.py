"""Runs `skald project` as real processes, to kill and restart them."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from skald.settings import Settings
from tests.integration.running_service import environment, free_port


class ProjectorProcess:
    """`python -m skald project NAMES...` with the test's namespace, logging to a file."""

    def __init__(
        self,
        settings: Settings,
        names: tuple[str, ...],
        log: Path,
        batch: int = 500,
        workers: int = 1,
    ) -> None:
        env = environment(settings, free_port())
        env["SKALD_PROJECTION_BATCH_SIZE"] = str(batch)
        env["SKALD_PROJECTION_SESSION_TIMEOUT_MS"] = "6000"
        self.log = log
        self._file = log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "skald", "project", *names, "--workers", str(workers)],
            env=env,
            stdout=self._file,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no last commit."""
        self.process.kill()
        self.process.wait(10)
        self._file.close()

    def stop(self) -> None:
        """SIGTERM, as an orchestrator would, and expect a clean exit."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        self._file.close()
        assert code == 0, f"projector exited {code}:\n{self.log.read_text()[-3000:]}"

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"projector died:\n{self.log.read_text()[-3000:]}"
