"""`skald projections status|reset`: where each projection stands, and starting one over."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from confluent_kafka import KafkaException
from opensearchpy.exceptions import OpenSearchException
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from projections.dead_letters import dead_letter_topic, read_dead_letters
from projections.positions import partitions, watermarks
from skald.cli.common import build_services, console, fail
from skald.services import Services

app = typer.Typer(help="Inspect and reset the projections.", no_args_is_help=True)


@app.command()
def status() -> None:
    """Per projection and partition: live generation, checkpoint, head, lag, last error."""
    services = build_services()
    table = Table("projection", "gen", "partition", "checkpoint", "head", "lag", "last error")
    reader = services.reader()
    try:
        for name, (sink, _topics) in services.projection_sinks.items():
            live, building = sink.live_generation(), sink.building_generation()
            stored = sink.checkpoints(live)
            keys = partitions(reader, services.projection_topics(name))
            heads = watermarks(reader, keys)
            errors = _last_errors(services, name)
            label = f"v{live}" + (f" (building v{building})" if building else "")
            for key in keys:
                checkpoint = stored.get(key)
                head = heads[key][1]
                lag = head - (checkpoint if checkpoint is not None else heads[key][0])
                table.add_row(
                    name,
                    label,
                    f"{key[0]}[{key[1]}]",
                    "-" if checkpoint is None else str(checkpoint),
                    str(head),
                    str(max(lag, 0)),
                    errors.get(key, ""),
                )
    except (KafkaException, LookupError) as error:
        fail(f"Kafka at {services.settings.kafka_bootstrap}: {error} (run `skald setup`?)")
    except SQLAlchemyError as error:
        fail(f"PostgreSQL: {error.__class__.__name__}: {error} (run `skald setup`?)")
    except OpenSearchException as error:
        fail(f"OpenSearch at {services.settings.opensearch_url}: {error} (run `skald setup`?)")
    finally:
        reader.close()
        services.close()
    console.print(table)


def _last_errors(services: Services, name: str) -> dict[tuple[str, int], str]:
    topic = services.settings.topic(dead_letter_topic(name))
    latest: dict[tuple[str, int], str] = {}
    for letter in read_dead_letters(services.reader(), topic):
        source = letter.source
        latest[(source.topic, source.partition)] = (
            f"@{source.offset} {letter.kind}: {letter.error[:60]}"
        )
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
