"""`skald worker`: one Faust worker running every context's stream processing."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from processors.collector import tune_for_streams
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

    from skald.worker_app import worker_app

    services = build_services()
    try:
        faust_app = worker_app(services, datadir or Path(tempfile.mkdtemp(prefix="skald-worker-")))
    except LookupError as error:
        fail(str(error))
    serve_metrics(services.settings)
    tune_for_streams()
    level = services.settings.log_level.lower()
    runner = faust.Worker(faust_app, loglevel=level, quiet=True)
    # Faust's terminal spinner lowers the root logger to DEBUG at level WARN and above, so
    # every debug call of aiokafka and Faust built a record: 7 % of a busy worker's CPU.
    runner.spinner = None
    runner.execute_from_commandline()
