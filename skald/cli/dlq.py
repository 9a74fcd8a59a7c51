"""`skald dlq list|show|redrive`: inspect and re-drive a projection's dead letters."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from projections.dead_letters import (
    DeadLetter,
    dead_letter_topic,
    header_pairs,
    read_dead_letters,
)
from projections.redrive import redrive
from skald.cli.common import build_services, console, fail
from skald.services import Services

app = typer.Typer(help="Dead letters of the projections.", no_args_is_help=True)

Projection = Annotated[str, typer.Argument(help="Projection name, e.g. sales.orders")]


def _letters(services: Services, name: str) -> list[DeadLetter]:
    if name not in services.projection_sinks:
        fail(f"unknown projection {name}; known: {', '.join(services.projection_sinks)}")
    topic = services.settings.topic(dead_letter_topic(name))
    try:
        return read_dead_letters(services.reader(), topic)
    except TimeoutError as error:
        fail(f"Kafka at {services.settings.kafka_bootstrap}: {error}")


@app.command("list")
def list_letters(
    name: Annotated[
        str | None,
        typer.Argument(help="Projection name, e.g. sales.orders; none: every projection"),
    ] = None,
) -> None:
    """One line per dead letter (duplicates of one source event shown once); without a
    name, one line per projection: how many, the oldest and the newest."""
    services = build_services()
    if name is None:
        _summary(services)
        return
    letters = _letters(services, name)
    table = Table("dlq offset", "source", "kind", "failed at", "error")
    for letter in letters:
        source = f"{letter.source.topic}[{letter.source.partition}]@{letter.source.offset}"
        table.add_row(
            str(letter.dlq_offset), source, letter.kind, letter.failed_at, letter.error[:80]
        )
    typer.echo(f"{len(letters)} dead letter(s) for {name}")
    if letters:
        console.print(table)


def _summary(services: Services) -> None:
    table = Table("projection", "dead letters", "oldest", "newest")
    total = 0
    reader = services.reader()
    for name in services.projection_sinks:
        topic = services.settings.topic(dead_letter_topic(name))
        try:
            letters = read_dead_letters(reader, topic)
        except TimeoutError as error:
            fail(f"Kafka at {services.settings.kafka_bootstrap}: {error}")
        total += len(letters)
        failed = sorted(letter.failed_at for letter in letters)
        table.add_row(
            name, str(len(letters)), failed[0] if failed else "-", failed[-1] if failed else "-"
        )
    reader.close()
    typer.echo(f"{total} dead letter(s) in {len(services.projection_sinks)} projections")
    console.print(table)


@app.command("show")
def show(name: Projection, offset: Annotated[int, typer.Argument(help="DLQ offset")]) -> None:
    """Everything about one dead letter: metadata, headers, key and value bytes."""
    found = [letter for letter in _letters(build_services(), name) if letter.dlq_offset == offset]
    if not found:
        fail(f"no dead letter at offset {offset} of {name}'s dead-letter topic")
    letter = found[0]
    typer.echo(f"projection : {letter.projection}")
    typer.echo(
        f"source     : {letter.source.topic}[{letter.source.partition}]@{letter.source.offset}"
    )
    typer.echo(f"kind       : {letter.kind}")
    typer.echo(f"failed at  : {letter.failed_at}")
    typer.echo(f"error      : {letter.error}")
    typer.echo(f"key        : {letter.raw.key!r}")
    for header, value in header_pairs(letter.raw):
        typer.echo(f"header     : {header} = {value!r}")
    typer.echo(
        f"value      : {len(letter.raw.value or b'')} bytes: {(letter.raw.value or b'')[:200]!r}"
    )


@app.command("redrive")
def redrive_letters(
    name: Projection,
    offset: Annotated[
        int | None, typer.Option(help="Only the dead letter at this DLQ offset")
    ] = None,
) -> None:
    """Apply dead letters through the projection again (each at most once)."""
    services = build_services()
    letters = _letters(services, name)
    if offset is not None:
        letters = [letter for letter in letters if letter.dlq_offset == offset]
    sink = services.sink(name)
    report = redrive(sink, services.decoder(name, sink), letters)
    typer.echo(
        f"{len(report.applied)} applied, {len(report.already_done)} already redriven or not "
        f"pending, {len(report.failed)} failed"
    )
    for letter, error in report.failed:
        typer.echo(f"  dlq offset {letter.dlq_offset}: {error}")
    services.close()
    if report.failed:
        raise typer.Exit(code=1)
