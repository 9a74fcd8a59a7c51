"""The commands up, down, status and clean, and the command line that picks one."""

from __future__ import annotations

import argparse
import shutil
import sys

from .host import ensure_service_root
from .layout import SERVICES, Layout, endpoint, is_root, make_layout
from .output import StackError, say
from .processes import read_pid, stack_lock
from .services import REGISTRY, Waiter, launch, wait_healthy


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
