"""`skald setup|api|project|run`: provision, serve the API, run projectors."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Annotated

import typer
import uvicorn
from opensearchpy.exceptions import OpenSearchException
from sqlalchemy.exc import SQLAlchemyError

from skald.cli.common import build_services, console, fail, serve_metrics
from skald.cli.topics import apply_topics_or_fail
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
    uvicorn.run(
        build_api(services),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def project(
    names: Annotated[list[str] | None, typer.Argument(help="Projections (default: all)")] = None,
) -> None:
    """Run projectors until SIGINT/SIGTERM, each in its own consumer group."""
    services = build_services()
    known = list(services.sinks())
    unknown = sorted(set(names or []) - set(known))
    if unknown:
        fail(f"unknown projection(s) {', '.join(unknown)}; known: {', '.join(known)}")
    projectors = [services.projector(name) for name in names or known]
    serve_metrics(services.settings)
    threads = [
        threading.Thread(target=p.run, name=f"projector-{i}") for i, p in enumerate(projectors)
    ]

    def stop_all(*_: object) -> None:
        for projector in projectors:
            projector.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_all)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    services.close()


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
