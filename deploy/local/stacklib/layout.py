"""Configuration: pinned versions, where a stack instance keeps its files, and service endpoints."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# This file is <repo>/deploy/local/stacklib/layout.py, so parents[3] is the checkout root.
REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
SERVICES = ("kafka", "postgres", "opensearch")
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
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


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
    """Where state of services running as other users lives (see the package docstring)."""
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
