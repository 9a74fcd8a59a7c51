"""The `skald` command line. Each subcommand group lives in its own module here."""

from __future__ import annotations

import typer

from skald.cli import dlq, projections, replay, schemas, serve, topics, worker

app = typer.Typer(help="Skald: event sourcing and streaming on Apache Kafka.", no_args_is_help=True)
app.add_typer(serve.app)
app.add_typer(schemas.app, name="schemas")
app.add_typer(topics.app, name="topics", no_args_is_help=True)
app.add_typer(projections.app, name="projections")
app.add_typer(dlq.app, name="dlq")
app.add_typer(replay.app)
app.add_typer(worker.app)


def main() -> None:
    """Console entry point."""
    app()
