"""What every `skald` subcommand shares: the services, the console, clean failures."""

from __future__ import annotations

from typing import NoReturn

import prometheus_client
import typer
from rich.console import Console

from skald import logs
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings

console = Console(stderr=True)


def build_services() -> Services:
    """Settings from the environment, logging configured, clients built lazily."""
    settings = Settings()
    logs.configure(settings.log_level)
    return Services(settings, CONTEXTS)


def fail(message: str) -> NoReturn:
    """Print a one-line error and exit 1: no traceback for expected failures."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=1)


def serve_metrics(settings: Settings) -> None:
    """Serve this process's Prometheus metrics on SKALD_METRICS_PORT, when one is set."""
    if settings.metrics_port:
        prometheus_client.start_http_server(settings.metrics_port)
