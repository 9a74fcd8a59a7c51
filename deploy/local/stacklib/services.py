"""The service registry, and bringing services up: decide, start, wait until healthy."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .health import port_open
from .kafka import kafka_healthy, kafka_start
from .layout import ENDPOINT_ENV, Endpoint, Layout, endpoint
from .opensearch import os_healthy, os_start
from .output import LOG_TAIL_LINES, StackError, say, tail
from .postgres import pg_bootstrap, pg_healthy, pg_start, pg_stop
from .processes import pid_alive, read_pid, terminate

HEALTH_TIMEOUT = {"kafka": 120.0, "postgres": 60.0, "opensearch": 240.0}


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
