"""A private single-node KRaft broker for tests that stall or kill it, never the shared one.

It runs from the local stack's Kafka distribution (deploy/local: the same jars, template
and logging), on free ports, with its data in a temporary directory.
"""

from __future__ import annotations

import base64
import contextlib
import signal
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient

from skald.settings import REPO_ROOT
from tests.integration.running_service import free_port

sys.path.insert(0, str(REPO_ROOT / "deploy" / "local"))
from stacklib.kafka import KAFKA_TEMPLATES, kafka_java
from stacklib.layout import make_layout

# Past-timeout transactions are aborted within a second (default: every 10 s).
OVERRIDES = {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000"}

BrokerConfig = dict[str, str]


def kafka_libs() -> Path | None:
    """The stack's Kafka jars, or None where the distribution was never fetched."""
    libs = make_layout().kafka_home / "libs"
    return libs if any(libs.glob("kafka_*.jar")) else None


@dataclass
class ThrowawayBroker:
    """A running broker: pause it (SIGSTOP), resume it (SIGCONT)."""

    bootstrap: str
    process: subprocess.Popen[bytes]
    log: Path

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def throwaway_kafka(
    directory: Path, libs: Path, overrides: BrokerConfig | None = None
) -> Iterator[ThrowawayBroker]:
    """Format, start and wait for a broker in `directory`; stop it by its pid afterwards.

    `overrides` are broker settings beyond the local stack's template and `OVERRIDES`; they
    may use `${KAFKA_PORT}` and `${KAFKA_CONTROLLER_PORT}`.
    """
    port, controller = free_port(), free_port()
    config = directory / "server.properties"
    template = string.Template((KAFKA_TEMPLATES / "server.properties").read_text())
    text = template.substitute(
        KAFKA_PORT=port, KAFKA_CONTROLLER_PORT=controller, KAFKA_DATA_DIR=directory / "data"
    )
    # Overrides may name the broker's ports too (`${KAFKA_PORT}`: another listener beside it).
    ports = {"KAFKA_PORT": port, "KAFKA_CONTROLLER_PORT": controller}
    extra = {
        key: string.Template(value).safe_substitute(ports)
        for key, value in {**OVERRIDES, **(overrides or {})}.items()
    }
    config.write_text(text + "".join(f"\n{k}={v}" for k, v in extra.items()) + "\n")
    layout = make_layout()
    # The stack's java command, with the broker's own log in `directory`.
    java = [
        arg.replace(str(layout.logs), str(directory))
        for arg in kafka_java(layout, libs, "-Xms256m", "-Xmx512m")
    ]
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    log = directory / "kafka.log"
    with log.open("ab") as out:
        subprocess.run(
            [
                *java,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                # One argument: an id starting with "-" (base64url, 1 in 64) is not an option.
                f"--cluster-id={cluster_id}",
                "-c",
                str(config),
            ],
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        process = subprocess.Popen(
            [*java, "kafka.Kafka", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    broker = ThrowawayBroker(f"localhost:{port}", process, log)
    try:
        _wait_until_serving(broker)
        yield broker
    finally:
        broker.resume()  # a stopped JVM ignores SIGTERM until resumed
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_until_serving(broker: ThrowawayBroker, timeout: float = 120.0) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert broker.process.poll() is None, broker.log.read_text()[-3000:]
        with contextlib.suppress(Exception):
            if admin.list_topics(timeout=2).brokers:
                return
        time.sleep(0.5)
    raise AssertionError(f"throwaway broker not serving:\n{broker.log.read_text()[-3000:]}")
