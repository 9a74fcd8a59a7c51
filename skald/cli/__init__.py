"""The `skald` command line. Each subcommand group lives in its own module here."""

from __future__ import annotations

import typer

from skald.cli import serve

app = typer.Typer(help="Skald: event sourcing and streaming on Apache Kafka.", no_args_is_help=True)
app.add_typer(serve.app)


def main() -> None:
    """Console entry point."""
    app()
