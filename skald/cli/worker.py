"""`skald worker`: one Faust worker running every context's stream processing."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from skald.cli.common import build_services, fail, serve_metrics

app = typer.Typer()


@app.command()
def worker(
    datadir: Annotated[Path | None, typer.Option(help="Faust data directory")] = None,
) -> None:
    """Run the contexts' workers (sagas, stream aggregates) until SIGINT/SIGTERM.

    At-least-once with idempotent steps; see processors/README.md.
    """
    import faust

    from processors.app import APP_NAME, build_app
    from processors.faust_security import broker_credentials

    services = build_services()
    workers = [w for context in services.contexts for w in context.workers]
    if not workers:
        fail("no context declares a worker")
    settings = services.settings
    faust_app = build_app(
        settings.group(APP_NAME),
        settings.kafka_bootstrap,
        broker_credentials(settings),
        settings.topic_partitions,
        settings.topic_replication,
        datadir or Path(tempfile.mkdtemp(prefix="skald-worker-")),
    )
    for each in workers:
        each.wire(faust_app, services)
    serve_metrics(settings)
    level = settings.log_level.lower()
    faust.Worker(faust_app, loglevel=level, quiet=True).execute_from_commandline()
