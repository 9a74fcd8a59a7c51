"""Bench helpers for a namespace of its own: a logged command processor, and the one teardown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from sqlalchemy import text

from eventstore import kafka_config
from projections.postgres.storage import namespace_generations
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings


def _restored(aggregate: str) -> re.Pattern[str]:
    return re.compile(rf"restored \d+ {aggregate} aggregates of partitions \[.*?\] in ([\d.]+)s")


class LoggedProcessor:
    """`python -m skald process <aggregates>` with its log in a file, to read its restore time."""

    def __init__(self, settings: Settings, log: Path, aggregates: list[str]) -> None:
        env = {
            **os.environ,
            "SKALD_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SKALD_NAMESPACE": settings.namespace,
            "SKALD_LOG_LEVEL": "INFO",
        }
        env.pop("SKALD_METRICS_PORT", None)
        self._log = log
        self._offset = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "skald", "process", *aggregates],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def restore_seconds(self, aggregate: str, timeout: float) -> float:
        """The restore time the processor logs for `aggregate`, once its partitions are assigned."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self._log.read_text(errors="replace")[self._offset :]
            if "assigned" in text and (found := _restored(aggregate).search(text)):
                return float(found.group(1))
            if self._process.poll() is not None:
                raise RuntimeError(f"the processor exited:\n{text}")
            time.sleep(0.2)
        raise TimeoutError(f"the processor did not restore in {timeout:g} s")

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)


def drop_namespace(settings: Settings) -> None:
    """Delete everything a bench namespace created: topics, consumer groups, OpenSearch
    indices, and PostgreSQL schemas (projection generations included)."""
    namespace = settings.namespace
    assert namespace, "refusing to drop the default namespace"
    admin = AdminClient(kafka_config.admin_config(settings.kafka_connection()))
    topics = [t for t in admin.list_topics(timeout=10).topics if t.startswith(namespace + ".")]
    for future in admin.delete_topics(topics, request_timeout=30).values() if topics else []:
        future.result()
    _delete_groups(admin, namespace)
    services = Services(settings, CONTEXTS)
    services.opensearch.indices.delete(index=f"{namespace}-*", ignore_unavailable=True)
    with services.engine.begin() as conn:
        for schema in [namespace, *namespace_generations(conn, namespace)]:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    services.close()


def _delete_groups(admin: AdminClient, namespace: str, attempts: int = 4) -> None:
    """Delete the namespace's consumer groups; a killed member keeps its group non-empty until
    its session times out (~10 s), so retry a few times, then leave it to expire."""
    for attempt in range(attempts):
        listed = admin.list_consumer_groups(request_timeout=30).result()
        groups = [g.group_id for g in listed.valid if g.group_id.startswith(namespace + ".")]
        busy = []
        for group, future in admin.delete_consumer_groups(groups).items() if groups else []:
            try:
                future.result()
            except KafkaException as error:
                if error.args[0].code() != KafkaError.NON_EMPTY_GROUP:
                    raise
                busy.append(group)
        if not busy:
            return
        if attempt < attempts - 1:
            time.sleep(5)
