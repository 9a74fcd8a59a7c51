"""`skald worker`: the Faust worker that runs the order fulfillment saga."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from skald.cli.common import build_services, serve_metrics

app = typer.Typer()


@app.command()
def worker(
    step_seconds: Annotated[
        float, typer.Option(help="Deadline of a saga step before it is compensated")
    ] = 30.0,
    redrive_seconds: Annotated[
        float, typer.Option(help="How often the watchdog re-sends a stuck step's commands")
    ] = 5.0,
    datadir: Annotated[Path | None, typer.Option(help="Faust data directory")] = None,
) -> None:
    """Run the fulfillment saga until SIGINT/SIGTERM (at-least-once, idempotent steps)."""
    import faust

    from processors.fulfillment import saga_view
    from processors.fulfillment.agents import Timing, wire
    from processors.fulfillment.app import build_app
    from processors.stats import agents as stats
    from processors.stats import view as stats_view

    services = build_services()
    folder = datadir or Path(tempfile.mkdtemp(prefix="skald-worker-"))
    faust_app = build_app(services.settings, folder)
    wire(faust_app, services, Timing(step_seconds, redrive_seconds))
    stats.wire(faust_app, services)
    saga_view.start(services)  # GET /sagas/{order_id} reads what it writes
    stats_view.start(services)  # GET /stats/... read what it writes
    serve_metrics(services.settings)
    level = services.settings.log_level.lower()
    faust.Worker(faust_app, loglevel=level, quiet=True).execute_from_commandline()
