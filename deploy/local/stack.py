#!/usr/bin/env python3
"""Local service stack for Skald without Docker: Kafka (KRaft), PostgreSQL and OpenSearch.

Usage (from the repo root):
    .venv/bin/python deploy/local/stack.py up|down|status|clean [--all] [--only kafka,postgres]

Versions come from deploy/versions.env. Kafka jars and the OpenSearch zip come from Maven
Central, PostgreSQL from Debian (apt) when its binaries are missing.

Layout (see deploy/README.md):
    $SKALD_STACK_DIR (default <repo>/.stack), owned by whoever runs this script:
        dist/kafka-<ver>/libs/   Kafka jars (cache, kept by `clean`)
        dist/opensearch-<ver>.zip
        conf/kafka/               rendered server.properties
        data/kafka/               Kafka log dirs (Kafka runs as the invoking user)
        logs/<svc>.log            stdout/stderr of each service
        run/<svc>.pid             pids this script started; `down` stops exactly these
    service root, for state of the services that run as other users:
        dist/opensearch-<ver>/    unzipped OpenSearch (cache, kept by `clean`)
        data/postgres/{data,run}  cluster + unix socket dir (owned by `postgres`)
        data/opensearch/{config,data,logs,tmp}  (owned by `skald`)

Permissions choice: as root, PostgreSQL runs as `postgres` and OpenSearch as `skald` (neither
runs as root). Those users cannot traverse a checkout that lives in a 0700 root-owned directory
(CI clones into such directories), so as root the service root is a per-checkout directory
    /var/tmp/skald-stack/<sha256(stack dir)[:12]>/   (or $SKALD_STACK_SHARED_DIR)
that they can reach; <stack>/shared is a symlink to it and `clean --all` removes it. We always
do this as root instead of probing traversability, so the layout never depends on where the
checkout happens to live. As a non-root user everything runs as that user and the service root
is the stack dir itself.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import shutil
import signal
import socket
import stat
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KAFKA_TEMPLATES = DEPLOY / "local" / "kafka"
SERVICES = ("kafka", "postgres", "opensearch")

# Fixed KRaft cluster id (base64url of b"skald-local-kraf"): storage is formatted with it once and
# every later start reuses the same log dirs.
KAFKA_CLUSTER_ID = "c2thbGQtbG9jYWwta3JhZg"
KAFKA_HEAP = ["-Xms512m", "-Xmx1g"]
OPENSEARCH_HEAP = "-Xms512m -Xmx512m"
OS_USER = "skald"
PG_OS_USER = "postgres"
PG_SUPERUSER = "postgres"
SHARED_BASE = Path("/var/tmp/skald-stack")

DEFAULT_ENDPOINTS = {
    "kafka": "localhost:9092",
    "postgres": "postgresql://skald:skald@localhost:5432/skald",
    "opensearch": "http://localhost:9200",
}
# Same variable names as skald/settings.py: CI or a developer can point the stack elsewhere.
ENDPOINT_ENV = {
    "kafka": "SKALD_KAFKA_BOOTSTRAP",
    "postgres": "SKALD_PG_DSN",
    "opensearch": "SKALD_OPENSEARCH_URL",
}
HEALTH_TIMEOUT = {"kafka": 120.0, "postgres": 60.0, "opensearch": 240.0}
# Marker in /proc/<pid>/cmdline that proves a recorded pid is still our service.
CMDLINE_MARKER = {
    "kafka": "kafka.Kafka",
    "postgres": "postgres",
    # bin/opensearch (bash) exec()s java with org.opensearch.bootstrap.OpenSearch
    "opensearch": "opensearch",
}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}
LOG_TAIL_LINES = 40
STOP_TIMEOUT = 30.0
T0 = time.monotonic()
QUIET_LOG = logging.getLogger("skald.stack.quiet")
QUIET_LOG.addHandler(logging.NullHandler())
QUIET_LOG.propagate = False


class StackError(Exception):
    """A failure with a message meant for the user."""


# ----------------------------------------------------------------------------- output


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


# ----------------------------------------------------------------------------- config


def load_versions(path: Path = DEPLOY / "versions.env") -> dict[str, str]:
    """Parse KEY=value lines of versions.env."""
    out: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def is_root() -> bool:
    """Whether we run as root (and must drop privileges for PostgreSQL/OpenSearch)."""
    return os.geteuid() == 0


def stack_dir() -> Path:
    """The per-checkout stack directory ($SKALD_STACK_DIR or <repo>/.stack)."""
    return Path(os.environ.get("SKALD_STACK_DIR") or REPO / ".stack").absolute()


def service_root(stack: Path) -> Path:
    """Where state of services running as other users lives (see module docstring)."""
    if not is_root():
        return stack
    if os.environ.get("SKALD_STACK_SHARED_DIR"):
        return Path(os.environ["SKALD_STACK_SHARED_DIR"]).absolute()
    digest = hashlib.sha256(str(stack.resolve()).encode()).hexdigest()[:12]
    return SHARED_BASE / digest


@dataclass(frozen=True)
class Layout:
    """All paths of one stack instance."""

    stack: Path
    svc_root: Path
    versions: dict[str, str]

    def v(self, key: str) -> str:
        """Return a pinned version from versions.env."""
        return self.versions[key]

    @property
    def logs(self) -> Path:
        """Directory of service logs."""
        return self.stack / "logs"

    @property
    def run(self) -> Path:
        """Directory of pidfiles."""
        return self.stack / "run"

    @property
    def kafka_home(self) -> Path:
        """Kafka 'distribution' (just libs/) assembled from Maven Central."""
        return self.stack / "dist" / f"kafka-{self.v('KAFKA_VERSION')}"

    @property
    def kafka_data(self) -> Path:
        """Kafka log.dirs."""
        return self.stack / "data" / "kafka"

    @property
    def kafka_conf(self) -> Path:
        """Rendered server.properties."""
        return self.stack / "conf" / "kafka" / "server.properties"

    @property
    def os_zip(self) -> Path:
        """Cached OpenSearch integ-test zip."""
        return self.stack / "dist" / f"opensearch-{self.v('OPENSEARCH_VERSION')}.zip"

    @property
    def os_home(self) -> Path:
        """Unzipped OpenSearch distribution (readable by the skald user)."""
        return self.svc_root / "dist" / f"opensearch-{self.v('OPENSEARCH_VERSION')}"

    @property
    def os_base(self) -> Path:
        """OpenSearch config/data/logs/tmp parent."""
        return self.svc_root / "data" / "opensearch"

    @property
    def pg_base(self) -> Path:
        """PostgreSQL cluster + socket dir parent."""
        return self.svc_root / "data" / "postgres"

    @property
    def pg_data(self) -> Path:
        """PostgreSQL data directory (PGDATA)."""
        return self.pg_base / "data"

    @property
    def pg_sock(self) -> Path:
        """PostgreSQL unix socket directory."""
        return self.pg_base / "run"

    @property
    def pg_bin(self) -> Path:
        """PostgreSQL server binaries of the pinned major version."""
        default = f"/usr/lib/postgresql/{self.v('POSTGRES_MAJOR')}/bin"
        return Path(os.environ.get("SKALD_PG_BIN") or default)

    def log(self, svc: str) -> Path:
        """Log file of a service."""
        return self.logs / f"{svc}.log"

    def pidfile(self, svc: str) -> Path:
        """Pidfile of a service."""
        return self.run / f"{svc}.pid"


def make_layout() -> Layout:
    """Build the layout from the environment and versions.env."""
    stack = stack_dir()
    return Layout(stack=stack, svc_root=service_root(stack), versions=load_versions())


@dataclass(frozen=True)
class Endpoint:
    """Where a service is expected to answer."""

    svc: str
    url: str
    host: str
    port: int
    env_var: str | None

    @property
    def local(self) -> bool:
        """Whether this endpoint is on this machine (so the stack may serve it)."""
        return self.host in LOCAL_HOSTS


def endpoint(svc: str) -> Endpoint:
    """Resolve a service endpoint from SKALD_* env vars or the defaults."""
    var = ENDPOINT_ENV[svc]
    url = os.environ.get(var) or DEFAULT_ENDPOINTS[svc]
    from_env = var if os.environ.get(var) else None
    if svc == "kafka":
        first = url.split(",")[0].split("://")[-1]
        host, _, port = first.rpartition(":")
        return Endpoint(svc, url, host.strip("[]"), int(port or 9092), from_env)
    parts = urlsplit(url)
    default_port = 5432 if svc == "postgres" else 9200
    return Endpoint(svc, url, parts.hostname or "", parts.port or default_port, from_env)


# ----------------------------------------------------------------------------- processes


def pid_alive(pid: int) -> bool:
    """Whether a pid exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def pid_is(pid: int, svc: str) -> bool:
    """Whether a live pid still runs the given service (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return pid_alive(pid) and CMDLINE_MARKER[svc] in cmdline


def read_pid(lay: Layout, svc: str) -> int | None:
    """Return the recorded pid of a service if it is still running that service."""
    try:
        pid = int(lay.pidfile(svc).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_is(pid, svc) else None


def drop_privileges(user: str | None) -> dict[str, Any]:
    """Popen kwargs that run a child as `user` (nothing when None)."""
    if user is None:
        return {}
    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def child_env(user: str | None, **extra: str) -> dict[str, str]:
    """Environment for a service child process."""
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_TOOL_OPTIONS", "JAVA_OPTS")}
    if user is not None:
        pw = pwd.getpwnam(user)
        env.update(USER=user, LOGNAME=user, HOME=pw.pw_dir)
    env.update(extra)
    return env


def spawn(
    lay: Layout, svc: str, argv: list[str], cwd: Path, env: dict[str, str], user: str | None
) -> subprocess.Popen[bytes]:
    """Start a detached service process, log to logs/<svc>.log, record its pid."""
    lay.logs.mkdir(parents=True, exist_ok=True)
    lay.run.mkdir(parents=True, exist_ok=True)
    with lay.log(svc).open("ab") as log:
        log.write(f"\n===== stack.py starting {svc} at {time.ctime()} =====\n".encode())
        log.flush()
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **drop_privileges(user),
        )
    lay.pidfile(svc).write_text(f"{proc.pid}\n")
    say(svc, f"started pid {proc.pid} (log {lay.log(svc)})")
    return proc


def run_checked(argv: list[str], what: str, log: Path | None = None, **kw: Any) -> None:
    """Run a helper command; raise StackError with its output when it fails."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as fh:
            res = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, check=False, **kw)
        if res.returncode != 0:
            raise StackError(f"{what} failed (exit {res.returncode}); last lines:\n{tail(log)}")
        return
    res = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)
    if res.returncode != 0:
        output = (res.stdout + res.stderr).strip()[-4000:]
        raise StackError(f"{what} failed (exit {res.returncode}): {' '.join(argv)}\n{output}")


def terminate(pid: int, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGTERM a process (group), wait up to timeout, then SIGKILL; True if it had to kill."""
    try:
        group = os.getpgid(pid) == pid
    except ProcessLookupError:
        return False

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return False
        time.sleep(0.2)
    send(signal.SIGKILL)
    while pid_alive(pid):
        time.sleep(0.1)
    return True


@contextlib.contextmanager
def stack_lock(lay: Layout) -> Iterator[None]:
    """Serialise concurrent stack.py runs on the same stack dir."""
    lay.stack.mkdir(parents=True, exist_ok=True)
    ignore = lay.stack / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# generated by deploy/local/stack.py: local service state\n*\n")
    with (lay.stack / "stack.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


# ----------------------------------------------------------------------------- host setup


def apt_install(packages: list[str]) -> None:
    """Install Debian packages (needs root)."""
    if not is_root():
        raise StackError(f"missing packages; as root run: apt-get install -y {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    say("apt", f"installing {' '.join(packages)}")
    run_checked(["apt-get", "update"], "apt-get update", env=env)
    run_checked(
        ["apt-get", "install", "-y", "--no-install-recommends", *packages],
        "apt-get install",
        env=env,
    )


def java_home() -> Path:
    """JAVA_HOME, or the JDK behind `java` on PATH (installing a JRE when there is none)."""
    if os.environ.get("JAVA_HOME") and Path(os.environ["JAVA_HOME"], "bin", "java").exists():
        return Path(os.environ["JAVA_HOME"])
    if shutil.which("java") is None:
        apt_install(["openjdk-17-jre-headless"])
    java = shutil.which("java")
    if java is None:
        raise StackError("no java found; set JAVA_HOME")
    return Path(java).resolve().parent.parent


def mvn() -> str:
    """Path of mvn (installing Maven from apt when missing)."""
    if shutil.which("mvn") is None:
        apt_install(["maven"])
    found = shutil.which("mvn")
    if found is None:
        raise StackError("mvn not found")
    return found


def ensure_system_user(name: str) -> None:
    """Create an unprivileged system user with a group of the same name if missing."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        say("setup", f"creating system user {name!r}")
        run_checked(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            f"useradd {name}",
        )


def chown_tree(path: Path, user: str | None) -> None:
    """Recursively chown path to user (no-op when not root)."""
    if user is None or not is_root():
        return
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs)]:
            os.lchown(name, pw.pw_uid, pw.pw_gid)
        for name in files:
            os.lchown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)


def safe_mkdir(path: Path, mode: int = 0o755) -> None:
    """mkdir -p with an explicit mode for the last component."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)


def ensure_service_root(lay: Layout) -> None:
    """Create the service root; as root, refuse one a local user could have planted."""
    if lay.svc_root == lay.stack:
        return
    chain = [SHARED_BASE] if lay.svc_root.parent == SHARED_BASE else []
    for d in [*chain, lay.svc_root]:
        if d.exists() or d.is_symlink():
            st = d.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
                raise StackError(f"{d} must be a root-owned directory not writable by others")
        else:
            safe_mkdir(d, 0o755)
    for sub in ("dist", "data"):
        safe_mkdir(lay.svc_root / sub, 0o755)
    link = lay.stack / "shared"
    if link.is_symlink() and Path(os.readlink(link)) != lay.svc_root:
        link.unlink()
    if not link.is_symlink():
        link.symlink_to(lay.svc_root)


# ----------------------------------------------------------------------------- generic health


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host or "localhost", port), timeout=timeout):
            return True
    except OSError:
        return False


# ----------------------------------------------------------------------------- Kafka


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


# ----------------------------------------------------------------------------- PostgreSQL


def pg_user() -> str | None:
    """OS user PostgreSQL runs as (None: the invoking user)."""
    return PG_OS_USER if is_root() else None


def pg_install(lay: Layout) -> None:
    """apt-get install PostgreSQL when its server binaries are missing."""
    if (lay.pg_bin / "initdb").exists():
        return
    apt_install([f"postgresql-{lay.v('POSTGRES_MAJOR')}"])
    if not (lay.pg_bin / "initdb").exists():
        raise StackError(f"{lay.pg_bin}/initdb still missing after apt-get install")
    pg_stop_debian_clusters(endpoint("postgres").port)


def pg_stop_debian_clusters(port: int) -> None:
    """Stop a Debian default cluster that the fresh apt install started on our port."""
    if shutil.which("pg_lsclusters") is None:
        return
    res = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in res.stdout.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[2] == str(port) and cols[3].startswith("online"):
            say("postgres", f"stopping Debian's default cluster {cols[0]}/{cols[1]} on {port}")
            subprocess.run(["pg_ctlcluster", cols[0], cols[1], "stop"], check=False)


def pg_init(lay: Layout) -> None:
    """initdb the cluster once (superuser `postgres`, trust on the private socket)."""
    user = pg_user()
    safe_mkdir(lay.pg_base, 0o700)
    safe_mkdir(lay.pg_sock, 0o700)
    chown_tree(lay.pg_base, user)
    if (lay.pg_data / "PG_VERSION").exists():
        return
    say("postgres", f"initdb {lay.pg_data}")
    run_checked(
        [
            str(lay.pg_bin / "initdb"),
            "-D",
            str(lay.pg_data),
            "-U",
            PG_SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ],
        "initdb",
        log=lay.log("postgres"),
        cwd=lay.pg_base,
        env=child_env(user, LANG="C.UTF-8"),
        **drop_privileges(user),
    )


def pg_start(lay: Layout, ep: Endpoint) -> subprocess.Popen[bytes]:
    """Install if needed, initdb once and start the postmaster."""
    pg_install(lay)
    pg_init(lay)
    argv = [
        str(lay.pg_bin / "postgres"),
        "-D",
        str(lay.pg_data),
        "-c",
        f"port={ep.port}",
        "-c",
        "listen_addresses=localhost",
        "-c",
        f"unix_socket_directories={lay.pg_sock}",
        "-c",
        "max_connections=200",
    ]
    user = pg_user()
    return spawn(lay, "postgres", argv, lay.pg_base, child_env(user, LANG="C.UTF-8"), user)


def pg_bootstrap(lay: Layout, ep: Endpoint) -> bool:
    """Create/refresh the application role and database from the DSN; False if not up yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(ep.url)
    role = unquote(parts.username or "skald")
    password = unquote(parts.password or "skald")
    dbname = unquote(parts.path.lstrip("/") or role)
    try:
        conn = psycopg.connect(
            host=str(lay.pg_sock),
            port=ep.port,
            user=PG_SUPERUSER,
            dbname="postgres",
            autocommit=True,
            connect_timeout=3,
        )
    except psycopg.OperationalError:
        return False
    with conn:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
        if not conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone():
            say("postgres", f"creating role {role!r} and database {dbname!r}")
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(role)
                )
            )
    return True


def pg_healthy(ep: Endpoint, timeout: float = 3.0) -> bool:
    """Whether `select 1` works with the application DSN."""
    if not port_open(ep.host, ep.port):
        return False
    import psycopg

    try:
        with psycopg.connect(ep.url, connect_timeout=max(1, int(timeout))) as conn:
            return conn.execute("select 1").fetchone() == (1,)
    except psycopg.Error:
        return False


def pg_stop(lay: Layout, pid: int) -> None:
    """Stop PostgreSQL with `pg_ctl stop -m fast`, falling back to signals."""
    user = pg_user()
    with contextlib.suppress(OSError):
        subprocess.run(
            [
                str(lay.pg_bin / "pg_ctl"),
                "stop",
                "-D",
                str(lay.pg_data),
                "-m",
                "fast",
                "-w",
                "-t",
                str(int(STOP_TIMEOUT)),
            ],
            cwd=lay.pg_base,
            env=child_env(user),
            capture_output=True,
            check=False,
            **drop_privileges(user),
        )
    if pid_alive(pid):
        terminate(pid)


# ----------------------------------------------------------------------------- OpenSearch


def os_user() -> str | None:
    """OS user OpenSearch runs as (it refuses root)."""
    return OS_USER if is_root() else None


def os_fetch(lay: Layout) -> None:
    """Download the integ-test zip from Maven Central and unzip it (both cached)."""
    ver = lay.v("OPENSEARCH_VERSION")
    if not lay.os_zip.exists():
        say("opensearch", f"fetching OpenSearch {ver} from Maven Central")
        plugin_ver = lay.v("MAVEN_DEPENDENCY_PLUGIN_VERSION")
        plugin = f"org.apache.maven.plugins:maven-dependency-plugin:{plugin_ver}"
        lay.os_zip.parent.mkdir(parents=True, exist_ok=True)
        run_checked(
            [
                mvn(),
                "-q",
                "-B",
                f"{plugin}:copy",
                f"-Dartifact=org.opensearch.distribution.integ-test-zip:opensearch:{ver}:zip",
                f"-DoutputDirectory={lay.os_zip.parent}",
            ],
            "mvn dependency:copy (OpenSearch)",
            cwd=lay.stack,
        )
    if (lay.os_home / ".complete").exists():
        return
    say("opensearch", f"unzipping into {lay.os_home}")
    tmp = lay.os_home.with_name(lay.os_home.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    unzip(lay.os_zip, tmp)
    shutil.rmtree(lay.os_home, ignore_errors=True)
    (tmp / f"opensearch-{ver}").rename(lay.os_home)
    tmp.rmdir()
    (lay.os_home / ".complete").write_text(ver)
    dist_link = lay.stack / "dist" / lay.os_home.name
    if lay.os_home != dist_link and not dist_link.is_symlink():
        dist_link.symlink_to(lay.os_home)


def unzip(archive: Path, dest: Path) -> None:
    """Extract a zip keeping Unix modes, world-readable (the service user must read it)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if info.is_dir():
                target.chmod(0o755)
            else:
                target.chmod((mode or 0o644) | 0o444)


def os_configure(lay: Layout, ep: Endpoint) -> Path:
    """Write a private config dir (opensearch.yml, jvm.options, log4j2) and return it."""
    base, user = lay.os_base, os_user()
    conf, data, logs, tmp = (base / d for d in ("config", "data", "logs", "tmp"))
    for d in (base, conf, data, logs, tmp):
        safe_mkdir(d, 0o750)
    shutil.copy2(lay.os_home / "config" / "log4j2.properties", conf / "log4j2.properties")
    shutil.copytree(
        lay.os_home / "config" / "jvm.options.d", conf / "jvm.options.d", dirs_exist_ok=True
    )
    jvm: list[str] = []
    for line in (lay.os_home / "config" / "jvm.options").read_text().splitlines():
        if line.startswith(("-Xms", "-Xmx")):
            continue  # heap comes from OPENSEARCH_JAVA_OPTS
        line = line.replace("file=logs/gc.log", f"file={logs}/gc.log")
        line = line.replace("-XX:HeapDumpPath=data", f"-XX:HeapDumpPath={data}")
        jvm.append(line.replace("-XX:ErrorFile=logs/", f"-XX:ErrorFile={logs}/"))
    (conf / "jvm.options").write_text("\n".join(jvm) + "\n")
    (conf / "opensearch.yml").write_text(
        "# Generated by deploy/local/stack.py on every `up`; edit the script, not this file.\n"
        "cluster.name: skald\n"
        "node.name: skald-local\n"
        "discovery.type: single-node\n"
        "network.host: 127.0.0.1\n"
        f"http.port: {ep.port}\n"
        f"path.data: {data}\n"
        f"path.logs: {logs}\n"
        "bootstrap.memory_lock: false\n"
        "# seccomp may be unavailable in sandboxes/containers; we do not need it locally.\n"
        "bootstrap.system_call_filter: false\n"
        "# A full-ish dev disk must not flip indices to read-only.\n"
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
    )
    chown_tree(base, user)
    return conf


def os_start(lay: Layout, ep: Endpoint) -> subprocess.Popen[bytes]:
    """Fetch, configure and start OpenSearch (as the unprivileged user when root)."""
    user = os_user()
    if user is not None:
        ensure_system_user(user)
    os_fetch(lay)
    conf = os_configure(lay, ep)
    jhome = str(java_home())
    env = child_env(
        user,
        OPENSEARCH_JAVA_HOME=jhome,
        OPENSEARCH_PATH_CONF=str(conf),
        OPENSEARCH_JAVA_OPTS=OPENSEARCH_HEAP,
        OPENSEARCH_TMPDIR=str(lay.os_base / "tmp"),
    )
    if user is not None:
        env["HOME"] = str(lay.os_base)
    argv = [str(lay.os_home / "bin" / "opensearch")]
    return spawn(lay, "opensearch", argv, lay.os_home, env, user)


def os_healthy(ep: Endpoint, timeout: float = 3.0) -> bool:
    """Whether GET /_cluster/health reports yellow or green."""
    url = ep.url.rstrip("/") + "/_cluster/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            status = json.load(resp).get("status")
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return status in ("yellow", "green")


# ----------------------------------------------------------------------------- services


@dataclass(frozen=True)
class Service:
    """How to start, check and stop one service."""

    name: str
    start: Callable[[Layout, Endpoint], subprocess.Popen[bytes]]
    healthy: Callable[[Endpoint], bool]
    stop: Callable[[Layout, int], None]


def _terminate_stop(_lay: Layout, pid: int) -> None:
    """Stop by signals."""
    terminate(pid)


REGISTRY = {
    "kafka": Service("kafka", kafka_start, kafka_healthy, _terminate_stop),
    "postgres": Service("postgres", pg_start, pg_healthy, pg_stop),
    "opensearch": Service("opensearch", os_start, os_healthy, _terminate_stop),
}


@dataclass
class Waiter:
    """A service `up` is waiting on."""

    svc: str
    ep: Endpoint
    owned: bool
    pid: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    deadline: float = field(default=0.0)

    def died(self) -> bool:
        """Whether the process we started/recorded is gone."""
        if self.proc is not None:
            return self.proc.poll() is not None
        return self.pid is not None and not pid_alive(self.pid)


def waiter_ready(lay: Layout, w: Waiter) -> bool:
    """One health probe; for our PostgreSQL also (re)creates the role and database."""
    if w.svc == "postgres" and w.owned and not pg_bootstrap(lay, w.ep):
        return False
    return REGISTRY[w.svc].healthy(w.ep)


def extra_ports(svc: str, ep: Endpoint) -> list[int]:
    """Other fixed ports a local service binds (Kafka's KRaft controller listener)."""
    return [ep.port + 1] if svc == "kafka" else []


def launch(lay: Layout, svc: str) -> Waiter | None:
    """Decide how to bring one service up; start it if it is ours to start."""
    ep = endpoint(svc)
    pid = read_pid(lay, svc)
    if pid is not None:
        say(svc, f"already running (pid {pid})")
        return Waiter(svc, ep, owned=True, pid=pid)
    lay.pidfile(svc).unlink(missing_ok=True)
    if not ep.local:
        say(svc, f"using external {ep.url} ({ep.env_var}); not starting a local copy")
        return Waiter(svc, ep, owned=False)
    if port_open(ep.host, ep.port):
        if REGISTRY[svc].healthy(ep):
            say(
                svc,
                f"{ep.host}:{ep.port} is already served by a process this stack did not "
                "start; it is healthy, using it",
            )
            return None
        raise StackError(
            f"{svc}: port {ep.port} is in use by a process this stack did not start, and it is "
            f"not a healthy {svc} for {ep.url}; stop it or point {ENDPOINT_ENV[svc]} elsewhere"
        )
    for port in extra_ports(svc, ep):
        if port_open(ep.host, port):
            raise StackError(f"{svc}: port {port} (needed besides {ep.port}) is already in use")
    proc = REGISTRY[svc].start(lay, ep)
    return Waiter(svc, ep, owned=True, pid=proc.pid, proc=proc)


def wait_healthy(lay: Layout, waiters: list[Waiter]) -> list[str]:
    """Poll all started services until healthy; return the names that failed."""
    now = time.monotonic()
    for w in waiters:
        w.deadline = now + HEALTH_TIMEOUT[w.svc]
    pending, last_note = list(waiters), now
    failed: list[str] = []
    while pending:
        for w in list(pending):
            reason = None
            if waiter_ready(lay, w):
                say(w.svc, f"healthy at {w.ep.url}")
            elif w.died():
                reason = "process exited during startup"
            elif time.monotonic() > w.deadline:
                reason = f"not healthy after {HEALTH_TIMEOUT[w.svc]:.0f}s"
            else:
                continue
            pending.remove(w)
            if reason:
                failed.append(w.svc)
                report_failure(lay, w, reason)
        if pending and time.monotonic() - last_note >= 10:
            say("wait", "still starting: " + ", ".join(w.svc for w in pending))
            last_note = time.monotonic()
        if pending:
            time.sleep(1.0)
    return failed


def report_failure(lay: Layout, w: Waiter, reason: str) -> None:
    """Print why a service failed and the tail of its log."""
    say(w.svc, f"FAILED: {reason}")
    if w.owned:
        print(f"----- last {LOG_TAIL_LINES} lines of {lay.log(w.svc)} -----")
        print(tail(lay.log(w.svc)))
        print("-----", flush=True)


# ----------------------------------------------------------------------------- commands


def cmd_up(lay: Layout, services: list[str]) -> int:
    """Start what is not running, wait for health, print endpoints."""
    lay.stack.mkdir(parents=True, exist_ok=True)
    if is_root():
        ensure_service_root(lay)
    waiters: list[Waiter] = []
    failed: list[str] = []
    for svc in services:
        try:
            w = launch(lay, svc)
        except StackError as exc:
            say(svc, f"FAILED: {exc}")
            failed.append(svc)
            continue
        if w is not None:
            waiters.append(w)
    failed += wait_healthy(lay, waiters)
    if failed:
        print(f"stack: {', '.join(failed)} did not come up (logs in {lay.logs})", flush=True)
        return 1
    print("stack is up:")
    print_endpoints(services)
    return 0


def print_endpoints(services: list[str]) -> None:
    """Print the endpoints applications should use."""
    labels = {"kafka": "Kafka", "postgres": "PostgreSQL", "opensearch": "OpenSearch"}
    for svc in services:
        print(f"  {labels[svc]:<11} {endpoint(svc).url}")


def cmd_down(lay: Layout, services: list[str]) -> int:
    """Stop exactly the processes this stack recorded."""
    for svc in services:
        pidfile = lay.pidfile(svc)
        pid = read_pid(lay, svc)
        if pid is None:
            if pidfile.exists():
                say(svc, "stale pidfile removed (process already gone)")
                pidfile.unlink()
            else:
                say(svc, "not running (nothing recorded)")
            continue
        say(svc, f"stopping pid {pid}")
        REGISTRY[svc].stop(lay, pid)
        pidfile.unlink(missing_ok=True)
        say(svc, "stopped")
    return 0


def cmd_status(lay: Layout, services: list[str]) -> int:
    """Print running/stopped, pid, endpoint and health of each service."""
    all_healthy = True
    for svc in services:
        ep = endpoint(svc)
        pid = read_pid(lay, svc)
        healthy = REGISTRY[svc].healthy(ep)
        all_healthy &= healthy
        if pid is not None:
            state = f"running  pid {pid:<8}"
        elif not ep.local:
            state = f"external (from {ep.env_var})"
        elif healthy:
            state = "external (not started by this stack)"
        else:
            state = "stopped              "
        print(f"{svc:<10} {state} {ep.url}  healthy={'yes' if healthy else 'no'}")
    return 0 if all_healthy else 3


def cmd_clean(lay: Layout, services: list[str], everything: bool) -> int:
    """Stop, then delete data (and with --all also the downloaded distributions)."""
    cmd_down(lay, services)
    targets = {
        "kafka": [lay.kafka_data, lay.kafka_conf.parent],
        "postgres": [lay.pg_base],
        "opensearch": [lay.os_base],
    }
    doomed = [p for svc in services for p in targets[svc]]
    if set(services) == set(SERVICES):
        doomed += [lay.logs, lay.run, lay.stack / "data", lay.stack / "conf", lay.svc_root / "data"]
        if everything:
            doomed += [lay.stack / "dist", lay.svc_root / "dist"]
    for path in doomed:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)
        else:
            continue
        say("clean", f"removed {path}")
    if everything and set(services) == set(SERVICES):
        if lay.svc_root != lay.stack and lay.svc_root.exists():
            shutil.rmtree(lay.svc_root)
            say("clean", f"removed {lay.svc_root}")
        (lay.stack / "shared").unlink(missing_ok=True)
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(description="Skald local service stack (no Docker).")
    p.add_argument("command", choices=["up", "down", "status", "clean"])
    p.add_argument(
        "--only",
        default=",".join(SERVICES),
        help="comma-separated subset of: " + ",".join(SERVICES),
    )
    p.add_argument("--all", action="store_true", help="clean: also remove downloaded distributions")
    args = p.parse_args(argv)
    args.services = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(args.services) - set(SERVICES))
    if unknown:
        p.error(f"unknown service(s): {', '.join(unknown)}")
    args.services = [s for s in SERVICES if s in args.services]
    return args


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    lay = make_layout()
    try:
        if args.command == "status":
            return cmd_status(lay, args.services)
        with stack_lock(lay):
            if args.command == "up":
                return cmd_up(lay, args.services)
            if args.command == "down":
                return cmd_down(lay, args.services)
            return cmd_clean(lay, args.services, args.all)
    except StackError as exc:
        print(f"stack: error: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
