"""`skald projections status|reset`: where each projection stands, and starting one over."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

import typer
from confluent_kafka import Consumer, KafkaException
from opensearchpy.exceptions import OpenSearchException
from rich import box
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from projections.dead_letters import dead_letter_topic, read_dead_letters
from projections.lag import event_lags
from projections.model import PartitionKey, Sink
from projections.positions import partitions, watermarks
from skald.cli.common import build_services, console, fail
from skald.services import Services

app = typer.Typer(help="Inspect and reset the projections.", no_args_is_help=True)


@app.command()
def status() -> None:
    """Per projection and partition: live generation, checkpoint, head, lag, last error.

    Lag counts records not yet applied: transaction markers after the checkpoint are not
    lag, so a projection at rest shows 0. One line per partition, within the terminal's
    width (100 columns hold every column; the error is cut, `skald dlq show` has it).
    """
    services = build_services()
    reader = services.reader()
    scanner = services.reader(eof=True)
    try:
        standings = [
            _standing(services, name, sink, reader)
            for name, (sink, _) in services.projection_sinks.items()
        ]
        wanted = {(key, s.start(key)) for s in standings for key in s.marks}
        ends = {key: high for s in standings for key, (_low, high) in s.marks.items()}
        lags = event_lags(scanner, wanted, ends)
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
    rows = [row for standing in standings for row in standing.rows(lags)]
    console.print(_table(rows, console.width))


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one projection stands, before its lag is known."""

    name: str
    live: int
    building: int | None
    stored: dict[PartitionKey, int]
    marks: dict[PartitionKey, tuple[int, int]]
    logical: dict[str, str]  # namespaced topic -> the name the context declares
    errors: dict[PartitionKey, str]

    def start(self, key: PartitionKey) -> int:
        """Where the projection reads next (the first offset if never checkpointed)."""
        return self.stored.get(key, self.marks[key][0])

    def rows(self, lags: dict[tuple[PartitionKey, int], int]) -> list[Row]:
        """A heading row (the projection's total lag), then one row per partition."""
        lag = {key: lags[(key, self.start(key))] for key in self.marks}
        building = f", building v{self.building}" if self.building else ""
        rows: list[Row] = [
            (f"{self.name} v{self.live}{building}", "", "", str(sum(lag.values())), "")
        ]
        for key, (_low, high) in self.marks.items():
            checkpoint = self.stored.get(key)
            rows.append(
                (
                    f"  {self.logical[key[0]]}[{key[1]}]",
                    "-" if checkpoint is None else str(checkpoint),
                    str(high),
                    str(lag[key]),
                    self.errors.get(key, ""),
                )
            )
        return rows


def _standing(services: Services, name: str, sink: Sink, reader: Consumer) -> Standing:
    live, building = sink.live_generation(), sink.building_generation()
    topics = services.projection_topics(name)
    return Standing(
        name,
        live,
        building,
        sink.checkpoints(live),
        watermarks(reader, partitions(reader, topics)),
        dict(zip(topics, services.projection_sinks[name][1], strict=True)),
        _last_errors(services, name, reader),
    )


Row = tuple[str, str, str, str, str]  # what, checkpoint, head, lag, last error
HEADINGS: Row = ("projection / partition", "checkpoint", "head", "lag", "last error")


def _table(rows: list[Row], width: int) -> Table:
    """No vertical rules and no wrapping: the error column gets what the others leave."""
    widths = [max(len(row[i]) for row in [HEADINGS, *rows]) for i in range(4)]
    room = max(width - sum(widths) - 3 * 4, len(HEADINGS[4]))  # a rule and two pads apart
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column(HEADINGS[0], no_wrap=True)
    for heading in HEADINGS[1:4]:
        table.add_column(heading, justify="right", no_wrap=True)
    table.add_column(HEADINGS[4], no_wrap=True, max_width=room)
    for what, *numbers, error in rows:
        cut = error if len(error) <= room else error[: room - 1] + "…"
        table.add_row(escape(what), *numbers, escape(cut))
    return table


def _last_errors(services: Services, name: str, reader: Consumer) -> dict[PartitionKey, str]:
    topic = services.settings.topic(dead_letter_topic(name))
    latest: dict[PartitionKey, str] = {}
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
