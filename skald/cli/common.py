"""What every `skald` subcommand shares: the services, the console, clean failures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import prometheus_client
import typer
from pydantic import ValidationError
from rich.console import Console

from projections.worker_metrics import DIRECTORY, WorkerMetrics, shared_metrics_dir
from skald import logs
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings

console = Console(stderr=True)


def build_services() -> Services:
    """Settings from the environment, logging configured, clients built lazily.

    Invalid settings end the command with one line per problem, naming the variable."""
    try:
        settings = Settings()
    except ValidationError as error:
        fail("invalid settings: " + "; ".join(_setting_problem(e) for e in error.errors()))
    logs.configure(settings.log_level)
    return Services(settings, CONTEXTS)


def _setting_problem(error: Any) -> str:
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    location = "_".join(str(part) for part in error.get("loc", ()))
    return f"SKALD_{location.upper()}: {message}" if location else message


def fail(message: str) -> NoReturn:
    """Print a one-line error and exit 1: no traceback for expected failures."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=1)


def serve_metrics(settings: Settings) -> None:
    """Serve this process's Prometheus metrics on SKALD_METRICS_PORT, when one is set."""
    if settings.metrics_port:
        prometheus_client.start_http_server(settings.metrics_port)


@contextmanager
def metrics_served(settings: Settings, workers: bool = False) -> Iterator[None]:
    """`serve_metrics` for the block; with `workers`, the projector metrics of the worker
    processes spawned inside the block are served too, merged over them (the supervisor of
    `skald project --workers N` applies nothing itself)."""
    if not (workers and settings.metrics_port):
        serve_metrics(settings)
        yield
        return
    if DIRECTORY in os.environ:
        fail(f"{DIRECTORY} is set: unset it, skald project --workers keeps its own per run")
    with shared_metrics_dir() as path:
        registry = prometheus_client.CollectorRegistry(auto_describe=False)
        registry.register(WorkerMetrics(path))
        server, _ = prometheus_client.start_http_server(settings.metrics_port, registry=registry)
        try:
            yield
        finally:
            server.shutdown()  # before the files go: no scrape reads half a directory
            server.server_close()
