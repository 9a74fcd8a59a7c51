"""`skald projections status|reset`: where each projection stands, and starting one over."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from confluent_kafka import Consumer, KafkaException
from opensearchpy.exceptions import OpenSearchException
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from projections.dead_letters import dead_letter_topic, read_dead_letters
from projections.lag import event_lag
from projections.model import Sink
from projections.positions import partitions, watermarks
from skald.cli.common import build_services, console, fail
from skald.services import Services

app = typer.Typer(help="Inspect and reset the projections.", no_args_is_help=True)


@app.command()
def status() -> None:
    """Per projection and partition: live generation, checkpoint, head, lag, last error.

    Lag counts records not yet applied: transaction markers after the checkpoint are not
    lag, so a projection at rest shows 0. One line per partition, within 100 columns.
    """
    services = build_services()
    table = Table("projection", "gen", "partition", "checkpoint", "head", "lag", "last error")
    table.columns[0].overflow = table.columns[2].overflow = "fold"
    table.columns[6].no_wrap = True
    table.columns[6].overflow = "ellipsis"
    table.columns[6].max_width = 30
    reader = services.reader()
    scanner = services.reader(eof=True)
    try:
        for name, (sink, _topics) in services.projection_sinks.items():
            _add_rows(table, services, name, sink, reader, scanner)
    except (KafkaException, LookupError) as error:
        fail(f"Kafka at {services.settings.kafka_bootstrap}: {error} (run `skald setup`?)")
    except SQLAlchemyError as error:
        fail(f"PostgreSQL: {error.__class__.__name__}: {error} (run `skald setup`?)")
    except OpenSearchException as error:
        fail(f"OpenSearch at {services.settings.opensearch_url}: {error} (run `skald setup`?)")
    finally:
        reader.close()
        scanner.close()
        services.close()
    console.print(table)


def _add_rows(
    table: Table, services: Services, name: str, sink: Sink, reader: Consumer, scanner: Consumer
) -> None:
    live, building = sink.live_generation(), sink.building_generation()
    stored = sink.checkpoints(live)
    topics = services.projection_topics(name)
    logical = dict(zip(topics, services.projection_sinks[name][1], strict=True))
    keys = partitions(reader, topics)
    marks = watermarks(reader, keys)
    starts = {key: stored.get(key, marks[key][0]) for key in keys}
    lag = event_lag(scanner, starts, {key: marks[key][1] for key in keys})
    errors = _last_errors(services, name, reader)
    label = f"v{live}" + (f"+v{building}" if building else "")  # building: being replayed
    for row, key in enumerate(keys):
        checkpoint = stored.get(key)
        table.add_row(
            name if row == 0 else "",
            label if row == 0 else "",
            f"{logical[key[0]]}[{key[1]}]",
            "-" if checkpoint is None else str(checkpoint),
            str(marks[key][1]),
            str(lag[key]),
            errors.get(key, ""),
        )


def _last_errors(services: Services, name: str, reader: Consumer) -> dict[tuple[str, int], str]:
    topic = services.settings.topic(dead_letter_topic(name))
    latest: dict[tuple[str, int], str] = {}
    for letter in read_dead_letters(reader, topic):
        source = letter.source
        latest[(source.topic, source.partition)] = f"@{source.offset} {letter.kind}: {letter.error}"
    return latest


@app.command()
def reset(
    name: Annotated[str, typer.Argument(help="Projection name, e.g. sales.orders")],
    yes: Annotated[bool, typer.Option("--yes", help="Don't ask for confirmation")] = False,
) -> None:
    """Replace the read model by an empty one; its projectors rebuild it from the start."""
    services = build_services()
    if name not in services.projection_sinks:
        fail(f"unknown projection {name}; known: {', '.join(services.projection_sinks)}")
    sink = services.sink(name)
    live = sink.live_generation()
    if not yes and not typer.confirm(
        f"Delete every row/document of {name} (generation v{live}) and rebuild from the log?"
    ):
        fail("reset cancelled; nothing changed")
    building = sink.building_generation()
    if building is not None:
        sink.drop_generation(building)
    fresh = sink.create_generation()
    for _attempt in range(50):
        if sink.swap(fresh, force=True):
            break
        time.sleep(0.2)  # readers hold the views for a moment; try again
    else:
        fail(f"could not swap in v{fresh}: the read model stayed busy; run reset again")
    sink.drop_generation(live)
    services.close()
    typer.echo(f"{name}: v{live} dropped; v{fresh} is live and empty; projectors refill it")
