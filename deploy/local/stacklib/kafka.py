"""Kafka (KRaft, one node): jars from Maven Central, config, storage format, start, health."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import string
import subprocess
from pathlib import Path
from typing import Any

from .health import port_open
from .host import java_home, mvn
from .layout import DEPLOY, Endpoint, Layout
from .output import StackError, say
from .processes import child_env, run_checked, spawn

KAFKA_TEMPLATES = DEPLOY / "local" / "kafka"

# Fixed KRaft cluster id (base64url of b"skald-local-kraf"): storage is formatted with it once and
# every later start reuses the same log dirs.
KAFKA_CLUSTER_ID = "c2thbGQtbG9jYWwta3JhZg"
KAFKA_HEAP = ["-Xms512m", "-Xmx1g"]
QUIET_LOG = logging.getLogger("skald.stack.quiet")
QUIET_LOG.addHandler(logging.NullHandler())
QUIET_LOG.propagate = False


def kafka_fetch(lay: Layout) -> Path:
    """Assemble Kafka's libs/ from Maven Central (cached by a stamp of the pinned versions)."""
    libs = lay.kafka_home / "libs"
    pom = KAFKA_TEMPLATES / "pom.xml"
    props = {
        "kafka.version": lay.v("KAFKA_VERSION"),
        "kafka.scala": lay.v("KAFKA_SCALA"),
        "log4j.version": lay.v("LOG4J_VERSION"),
        "slf4j.version": lay.v("SLF4J_VERSION"),
        "maven.dependency.plugin.version": lay.v("MAVEN_DEPENDENCY_PLUGIN_VERSION"),
    }
    want = json.dumps({**props, "pom": hashlib.sha256(pom.read_bytes()).hexdigest()})
    stamp = lay.kafka_home / ".complete"
    if stamp.exists() and stamp.read_text() == want:
        return libs
    say("kafka", f"fetching Kafka {props['kafka.version']} jars from Maven Central")
    tmp = lay.kafka_home.with_name(lay.kafka_home.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    run_checked(
        [
            mvn(),
            "-q",
            "-B",
            "-f",
            str(pom),
            *(f"-D{k}={v}" for k, v in props.items()),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp / 'libs'}",
        ],
        "mvn dependency:copy-dependencies (Kafka)",
    )
    shutil.rmtree(lay.kafka_home, ignore_errors=True)
    tmp.rename(lay.kafka_home)
    stamp.write_text(want)
    say("kafka", f"{len(list(libs.glob('*.jar')))} jars in {libs}")
    return libs


def kafka_render_config(lay: Layout, ep: Endpoint) -> None:
    """Render server.properties from the template."""
    text = string.Template((KAFKA_TEMPLATES / "server.properties").read_text()).substitute(
        KAFKA_PORT=ep.port,
        KAFKA_CONTROLLER_PORT=ep.port + 1,
        KAFKA_DATA_DIR=lay.kafka_data,
    )
    lay.kafka_conf.parent.mkdir(parents=True, exist_ok=True)
    lay.kafka_conf.write_text(text)


def kafka_java(lay: Layout, libs: Path, *jvm_opts: str) -> list[str]:
    """java command prefix (logging + classpath) for running a Kafka main class."""
    return [
        str(java_home() / "bin" / "java"),
        *jvm_opts,
        f"-Dkafka.logs.dir={lay.logs}",
        f"-Dlog4j2.configurationFile={KAFKA_TEMPLATES / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
    ]


def kafka_format(lay: Layout, libs: Path) -> None:
    """Format KRaft storage with the fixed cluster id unless already formatted."""
    meta = lay.kafka_data / "meta.properties"
    if meta.exists():
        found = dict(line.split("=", 1) for line in meta.read_text().splitlines() if "=" in line)
        if found.get("cluster.id") != KAFKA_CLUSTER_ID:
            raise StackError(
                f"{meta} has cluster.id={found.get('cluster.id')}, expected {KAFKA_CLUSTER_ID}; "
                "run `stack.py clean --only kafka`"
            )
        return
    say("kafka", f"formatting KRaft storage (cluster id {KAFKA_CLUSTER_ID})")
    lay.kafka_data.mkdir(parents=True, exist_ok=True)
    run_checked(
        [
            *kafka_java(lay, libs),
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "--ignore-formatted",
            "-t",
            KAFKA_CLUSTER_ID,
            "-c",
            str(lay.kafka_conf),
        ],
        "Kafka StorageTool format",
        log=lay.log("kafka"),
    )


def kafka_start(lay: Layout, ep: Endpoint) -> subprocess.Popen[bytes]:
    """Fetch, configure, format and start the broker."""
    libs = kafka_fetch(lay)
    kafka_render_config(lay, ep)
    kafka_format(lay, libs)
    jvm_opts = [
        *KAFKA_HEAP,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
    ]
    argv = [*kafka_java(lay, libs, *jvm_opts), "kafka.Kafka", str(lay.kafka_conf)]
    return spawn(lay, "kafka", argv, lay.stack, child_env(None), None)


def kafka_healthy(ep: Endpoint, timeout: float = 3.0) -> bool:
    """Whether a Kafka broker answers a metadata request."""
    if not port_open(ep.host, ep.port):
        return False
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    conf: dict[str, Any] = {
        "bootstrap.servers": ep.url,
        "socket.timeout.ms": int(timeout * 1000),
        "logger": QUIET_LOG,  # librdkafka's connection-refused chatter while Kafka boots
    }
    admin = AdminClient(conf)
    try:
        md = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(md.brokers)
