"""The whole Skald stack as `skald run` starts it, in a fresh namespace a benchmark drops after.

API, command processor, the stream worker and one projector per read model, each a silenced
`python -m skald` subprocess with `SKALD_NAMESPACE` set; `drop()` deletes the namespace's
topics, consumer groups, OpenSearch indices and PostgreSQL schemas (generations included).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench.namespace import drop_namespace
from bench.processes import process_cpu_seconds, spawn_skald, tree_cpu_seconds
from skald.provision import apply_topic_specs, create_read_models
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings

_REPO = Path(__file__).resolve().parents[1]


class Stack:
    """`skald run`'s processes in namespace `bench<hex>`; `stop()` then `drop()` when done."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings.model_copy(update={"namespace": f"bench{uuid.uuid4().hex[:6]}"})
        self.url = f"http://127.0.0.1:{port}"
        self.services = Services(self.settings, CONTEXTS)
        self._port = port
        self._processes: list[subprocess.Popen[bytes]] = []
        self._roles: list[str] = []

    def start(self) -> None:
        """Provision the namespace, then start every process `skald run` would."""
        apply_topic_specs(self.services)
        create_read_models(self.services)
        env = {
            **os.environ,
            "SKALD_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "SKALD_NAMESPACE": self.settings.namespace,
            "SKALD_API_PORT": str(self._port),
            "SKALD_LOG_LEVEL": "WARNING",
        }
        commands = [["api"], ["process"]]
        if any(context.workers for context in self.services.contexts):
            commands.append(["worker"])
        commands += [["project", name] for name in self.services.sinks()]
        self._processes = [spawn_skald(args, env) for args in commands]
        self._roles = [args[0] for args in commands]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) each role's processes have used so far."""
        used: dict[str, float] = {}
        for role, process in zip(self._roles, self._processes, strict=True):
            used[role] = used.get(role, 0.0) + process_cpu_seconds(process.pid)
        return used

    def service_cpu_seconds(self) -> dict[str, float]:
        """CPU seconds Kafka, PostgreSQL and OpenSearch have used so far, where the native
        stack (`deploy/local`) runs them here; empty for services elsewhere. They serve
        anything else running on the machine too: read them on a quiet machine."""
        run = Path(os.environ.get("SKALD_STACK_DIR") or _REPO / ".stack") / "run"
        used: dict[str, float] = {}
        for service in ("kafka", "postgres", "opensearch"):
            try:
                pid = int((run / f"{service}.pid").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            used[service] = tree_cpu_seconds(pid)
        return used

    def stop(self) -> None:
        """SIGTERM every process; kill what is still running after 30 s."""
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()  # a worker stuck in Faust's stop: the numbers are in
                process.wait(10)

    def drop(self) -> None:
        """Delete everything the namespace created."""
        self.services.close()
        drop_namespace(self.settings)


@contextlib.contextmanager
def running_stack(settings: Settings, port: int) -> Iterator[Stack]:
    """A started `Stack`, stopped and its namespace dropped afterwards, however it ends."""
    stack = Stack(settings, port)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        stack.drop()
