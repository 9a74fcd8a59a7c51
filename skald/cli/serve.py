"""`skald setup|api|project|run`: provision, serve the API, run projectors."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Annotated

import typer
import uvicorn
from opensearchpy.exceptions import OpenSearchException
from sqlalchemy.exc import SQLAlchemyError

from producers.collector import tune_for_requests
from projections.collector import tune_for_batches
from projections.projector import Projector
from projections.workers import Runner
from skald.cli.common import build_services, console, fail, metrics_served, serve_metrics
from skald.cli.topics import apply_topics_or_fail
from skald.projection_workers import live_runner
from skald.provision import create_read_models
from skald.supervisor import Child, supervise

app = typer.Typer()


@app.command()
def setup() -> None:
    """Create topics, read-model tables and indices (safe to repeat)."""
    services = build_services()
    try:
        apply_topics_or_fail(services)  # the same path as `skald topics apply`
        for name in create_read_models(services):
            console.print(f"   ready  read model {name}")
    except SQLAlchemyError as error:
        fail(f"PostgreSQL at {services.settings.pg_dsn}: {error.__class__.__name__}: {error}")
    except OpenSearchException as error:
        fail(f"OpenSearch at {services.settings.opensearch_url}: {error}")
    finally:
        services.close()


@app.command()
def api() -> None:
    """Serve the HTTP API."""
    from skald.http import build_api

    services = build_services()
    settings = services.settings
    app = build_api(services)
    tune_for_requests()  # the app is built: what exists now is never garbage
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def project(
    names: Annotated[list[str] | None, typer.Argument(help="Projections (default: all)")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes per projection, sharing its partitions (default: "
            "SKALD_PROJECTION_WORKERS, 1); more than the topics' partitions leaves some idle",
        ),
    ] = None,
) -> None:
    """Run projectors until SIGINT/SIGTERM, each projection in its own consumer group.

    With one worker every projector runs in this process; with more, each projection runs
    in that many worker processes of its group, and this process only supervises them (it
    exits 1 when one of them dies).
    """
    services = build_services()
    # Before any worker process starts: they inherit it. Read models may lag under overload;
    # the command path and the sagas may not (invariant 10).
    _lower_priority_to(services.settings.projection_nice)
    known = list(services.sinks())
    unknown = sorted(set(names or []) - set(known))
    if unknown:
        fail(f"unknown projection(s) {', '.join(unknown)}; known: {', '.join(known)}")
    count = workers or services.settings.projection_workers
    runners = [live_runner(services, name, count) for name in names or known]
    projectors = [r for r in runners if isinstance(r, Projector)]
    if projectors:  # projecting in this process: its collector sized to the batches
        tune_for_batches(max(p.largest_batch for p in projectors))
    # With workers, the metrics they keep in files are served here, merged over them.
    with metrics_served(services.settings, workers=count > 1):
        failed = _run_until_stopped(runners)
    services.close()
    if failed:
        fail("a projector stopped on its own (see the log); the others were stopped")


def _run_until_stopped(runners: list[Runner]) -> bool:
    """Run each runner in a thread until SIGINT/SIGTERM; stop them all when one ends on its
    own. Whether one did."""
    stopping, failed = threading.Event(), threading.Event()

    def stop_all(*_: object) -> None:
        stopping.set()
        for runner in runners:
            runner.stop()

    def run(runner: Runner) -> None:
        try:
            runner.run()
        finally:
            if not stopping.is_set():  # it ended on its own: a worker died, or it raised
                failed.set()
                stop_all()

    threads = [
        threading.Thread(target=run, args=(r,), name=f"projector-{i}")
        for i, r in enumerate(runners)
    ]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_all)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failed.is_set()


def _lower_priority_to(niceness: int) -> None:
    """Run at `niceness` (absolute), or stay where we are if that is already lower."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if niceness > current:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)


@app.command()
def process(
    aggregates: Annotated[
        list[str] | None, typer.Argument(help="Aggregate types, e.g. order stock (default: all)")
    ] = None,
) -> None:
    """Run the command processor: the single writer of each command partition."""
    services = build_services()
    known = [aggregate.name for aggregate in services.aggregates]
    unknown = sorted(set(aggregates or []) - set(known))
    if unknown:
        fail(f"unknown aggregate type(s) {', '.join(unknown)}; known: {', '.join(known)}")
    processor = services.command_processor(aggregates)
    serve_metrics(services.settings)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: processor.stop())
    processor.run()
    services.close()


@app.command()
def run() -> None:
    """Provision, then run the API, the command processor, every projector and, when a
    context declares one, the stream worker (Ctrl-C stops)."""
    setup()
    services = build_services()
    settings = services.settings
    me = [sys.executable, "-m", "skald"]
    children = [Child("api", [*me, "api"]), Child("commands", [*me, "process"])]
    if any(context.workers for context in services.contexts):
        children.append(Child("worker", [*me, "worker"]))
    children += [Child(name, [*me, "project", name]) for name in services.sinks()]
    base = f"http://{settings.api_host}:{settings.api_port}"
    console.print(
        f"\n[bold]Skald[/] API on {base}  ·  docs {base}/docs\n"
        f"Try:  curl -s -X POST {base}/orders -H 'content-type: application/json' "
        '-d \'{"customer_id":"cust-42","items":[{"sku":"SKU-1",'
        '"name":"Espresso beans","quantity":2,"unit_price_cents":1250}]}\'\n'
    )
    raise typer.Exit(code=supervise(children))
