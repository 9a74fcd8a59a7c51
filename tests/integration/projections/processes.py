"""Runs `skald project` as real processes, to kill and restart them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
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
        extra_env: dict[str, str] | None = None,
    ) -> None:
        env = environment(settings, free_port())
        env["SKALD_PROJECTION_BATCH_SIZE"] = str(batch)
        env["SKALD_PROJECTION_SESSION_TIMEOUT_MS"] = "6000"
        env.update(extra_env or {})
        self.log = log
        self._seen: set[Child] = set()
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

    def children(self) -> list[Child]:
        """The processes whose parent is this one (its workers), as they are now; each is
        also remembered for `ensure_stopped`."""
        found = [
            child
            for child in map(Child.read, Path("/proc").glob("[0-9]*"))
            if child and child.parent == self.process.pid
        ]
        self._seen.update(found)
        return found

    def ensure_stopped(self) -> None:
        """After a test, passed or failed: nothing of this projector left running. Its
        children (seen now or by `children()` before) stop on their own once it is gone, and
        are killed if they don't."""
        workers = set(self.children()) | self._seen
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._file.close()
        deadline = time.monotonic() + 30
        while any(w.running() for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        for worker in workers:
            worker.kill()

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"projector died:\n{self.log.read_text()[-3000:]}"


@dataclass(frozen=True, slots=True)
class Child:
    """A process as /proc shows it; its start time tells it from a later one with its pid."""

    pid: int
    parent: int
    started: int

    @staticmethod
    def read(proc: Path) -> Child | None:
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None  # gone meanwhile
        return Child(int(proc.name), int(fields[1]), int(fields[19]))

    def running(self) -> bool:
        now = Child.read(Path(f"/proc/{self.pid}"))
        return now is not None and now.started == self.started

    def kill(self) -> None:
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
