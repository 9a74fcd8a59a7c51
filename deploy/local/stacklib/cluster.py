"""A three-node KRaft cluster (combined broker+controller) from the stack's Kafka jars.

Used by `deploy/local/cluster.py` (`make cluster-up`) and by the cluster fault tests, which
kill, stop and restart single nodes. Each node has its own directory (config, data, log,
pidfile) under one cluster directory; every node is formatted with the same cluster id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import string
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .kafka import KAFKA_TEMPLATES, QUIET_LOG, kafka_java
from .layout import Layout
from .output import StackError
from .processes import pid_alive

# base64url of b"skald-3-node-clu": fixed, so a cluster directory is reused across restarts.
CLUSTER_ID = "c2thbGQtMy1ub2RlLWNsdQ"
# Three JVMs on a shared two-core machine: small heaps (a test cluster holds little data).
NODE_HEAP = ["-Xms128m", "-Xmx384m"]
NODE_JVM = ["-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"]
DEFAULT_PORTS = (19092, 19093, 19094)
DEFAULT_CONTROLLER_PORTS = (19192, 19193, 19194)


@dataclass(frozen=True)
class ClusterNode:
    """One node's id, ports and files."""

    node_id: int
    port: int
    controller_port: int
    directory: Path

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"

    @property
    def config(self) -> Path:
        return self.directory / "server.properties"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        """The broker's own log (log4j)."""
        return self.directory / "kafka.log"

    @property
    def console(self) -> Path:
        """stdout and stderr of the JVM and of the storage tool."""
        return self.directory / "console.log"

    @property
    def pidfile(self) -> Path:
        return self.directory / "kafka.pid"


@dataclass
class KafkaCluster:
    """Three nodes in `directory`: render, format, start, stop, kill, each node by its id."""

    directory: Path
    java: list[str]  # the stack's java command prefix; logs dir replaced per node
    logs_dir: str
    nodes: dict[int, ClusterNode]
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return ",".join(node.address for node in self.nodes.values())

    def java_for(self, node: ClusterNode) -> list[str]:
        """The java command with the node's log4j output in its own directory."""
        return [arg.replace(self.logs_dir, str(node.directory)) for arg in self.java]

    def prepare(self) -> None:
        """Render every node's config and format its storage (once: reruns keep the data)."""
        voters = ",".join(f"{n.node_id}@localhost:{n.controller_port}" for n in self.nodes.values())
        template = string.Template((KAFKA_TEMPLATES / "cluster.properties").read_text())
        for node in self.nodes.values():
            node.directory.mkdir(parents=True, exist_ok=True)
            node.config.write_text(
                template.substitute(
                    NODE_ID=node.node_id,
                    VOTERS=voters,
                    PORT=node.port,
                    CONTROLLER_PORT=node.controller_port,
                    DATA_DIR=node.data,
                )
            )
            if (node.data / "meta.properties").exists():
                continue
            format_storage = ["kafka.tools.StorageTool", "format", "-t", CLUSTER_ID]
            with node.console.open("ab") as out:
                formatted = subprocess.run(
                    [*self.java_for(node), *format_storage, "-c", str(node.config)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=False,
                )
            if formatted.returncode != 0:
                raise StackError(f"formatting node {node.node_id} failed: see {node.console}")

    def start(self, node_id: int, detached: bool = False) -> int:
        """Start one node; returns its pid (also written to its pidfile)."""
        node = self.nodes[node_id]
        with node.console.open("ab") as out:
            out.write(f"\n===== starting node {node_id} at {time.ctime()} =====\n".encode())
            out.flush()
            process = subprocess.Popen(
                [*self.java_for(node), "kafka.Kafka", str(node.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=detached,  # `make cluster-up` outlives its shell
            )
        self.processes[node_id] = process
        node.pidfile.write_text(f"{process.pid}\n")
        return process.pid

    def pid(self, node_id: int) -> int | None:
        """The node's pid while it runs (from the pidfile, so another process may ask)."""
        process = self.processes.get(node_id)
        if process is not None:
            return process.pid if process.poll() is None else None
        node = self.nodes[node_id]
        with contextlib.suppress(OSError, ValueError):
            pid = int(node.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if pid_alive(pid) and str(node.config).encode() in cmdline:
                return pid
        return None

    def kill(self, node_id: int) -> None:
        """kill -9: no controlled shutdown, no flush."""
        self._signal_and_wait(node_id, signal.SIGKILL, 30)

    def stop(self, node_id: int, timeout: float = 120.0) -> None:
        """SIGTERM: a controlled shutdown (leadership moves away first); SIGKILL if it hangs."""
        if not self._signal_and_wait(node_id, signal.SIGTERM, timeout):
            self._signal_and_wait(node_id, signal.SIGKILL, 30)

    def _signal_and_wait(self, node_id: int, signum: int, timeout: float) -> bool:
        pid = self.pid(node_id)
        if pid is None:
            return True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)  # a paused JVM ignores SIGTERM until resumed
            os.kill(pid, signum)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes.get(node_id)
            if (process.poll() is not None) if process is not None else not pid_alive(pid):
                self.processes.pop(node_id, None)
                self.nodes[node_id].pidfile.unlink(missing_ok=True)
                return True
            time.sleep(0.2)
        return False

    def stop_all(self, timeout: float = 60.0) -> None:
        """SIGTERM every node at once (one by one, the last could not finish a controlled
        shutdown without a controller quorum), then SIGKILL what still runs."""
        for node_id in self.nodes:
            self._signal_and_wait(node_id, signal.SIGTERM, 0)
        for node_id in self.nodes:
            self.stop(node_id, timeout)

    def serving(self, node_id: int, timeout: float = 3.0) -> bool:
        """Whether this node answers a metadata request that lists all three brokers."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        conf: dict[str, Any] = {
            "bootstrap.servers": self.nodes[node_id].address,
            "socket.timeout.ms": int(timeout * 1000),
            "logger": QUIET_LOG,
        }
        try:
            brokers = AdminClient(conf).list_topics(timeout=timeout).brokers
        except KafkaException:
            return False
        return node_id in brokers

    def wait_serving(self, node_ids: list[int] | None = None, timeout: float = 180.0) -> None:
        """Wait until each node answers metadata requests and counts itself a broker."""
        waiting = list(node_ids or self.nodes)
        deadline = time.monotonic() + timeout
        while waiting:
            for node_id in list(waiting):
                if self.pid(node_id) is None:
                    raise StackError(f"node {node_id} exited; see {self.nodes[node_id].log}")
                if self.serving(node_id):
                    waiting.remove(node_id)
            if waiting and time.monotonic() > deadline:
                raise StackError(f"nodes {waiting} not serving after {timeout:.0f} s")
            if waiting:
                time.sleep(1.0)


def three_nodes(
    directory: Path,
    lay: Layout,
    libs: Path,
    ports: tuple[int, int, int] = DEFAULT_PORTS,
    controller_ports: tuple[int, int, int] = DEFAULT_CONTROLLER_PORTS,
) -> KafkaCluster:
    """A cluster of three nodes (ids 1-3) in `directory`; nothing starts yet."""
    nodes = {
        n + 1: ClusterNode(n + 1, ports[n], controller_ports[n], directory / f"node-{n + 1}")
        for n in range(3)
    }
    java = kafka_java(lay, libs, *NODE_HEAP, *NODE_JVM)
    return KafkaCluster(directory, java, str(lay.logs), nodes)
