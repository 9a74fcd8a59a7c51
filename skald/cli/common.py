"""What every `skald` subcommand shares: the services, the console, clean failures."""

from __future__ import annotations

from typing import NoReturn

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
