"""`skald schemas check`: fail the build on a breaking schema change."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eventstore.schema_check import check, load_policy
from eventstore.schemas import SchemaError, SchemaRepository
from eventstore.upcasting import Upcasters
from skald.cli.common import fail
from skald.registry import CONTEXTS
from skald.settings import REPO_ROOT

app = typer.Typer(help="Versioned Avro event schemas.", no_args_is_help=True)


@app.command("check")
def check_command(
    directory: Annotated[Path, typer.Option("--dir", help="Schema directory to check.")] = REPO_ROOT
    / "schemas",
) -> None:
    """Check layout and compatibility between consecutive versions of every subject."""
    try:
        repository = SchemaRepository.from_directory(directory)
        policy = load_policy(directory)
    except SchemaError as error:
        fail(str(error))
    upcasters = Upcasters.discover(cls for c in CONTEXTS for cls in c.event_classes)
    report = check(directory, repository, policy, upcasters)
    for note in report.notes:
        typer.echo(f"note: {note}")
    for problem in report.problems:
        typer.echo(str(problem))
    summary = (
        f"{_count(report.subjects, 'subject')}, {_count(report.schemas, 'schema')}, "
        f"{_count(report.transitions, 'version step')} checked"
    )
    if report.problems:
        fail(f"{_count(len(report.problems), 'schema problem')} in {directory} ({summary})")
    typer.echo(f"ok: {summary} in {directory}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
