"""`skald replay PROJECTION`: rebuild a read model online beside the live one, then swap."""

from __future__ import annotations

from typing import Annotated

import typer
from confluent_kafka import KafkaException
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from projections.collector import tune_for_batches
from projections.model import Sink
from projections.positions import BEGINNING, BadStartPosition
from projections.replay import Progress as ReplayProgress
from projections.replay import Replay, ReplayFailed
from projections.skipped import ScanTimedOut, first_skipped_event
from projections.workers import Runner
from skald.cli.common import build_services, console, fail
from skald.projection_workers import replay_runner

app = typer.Typer()

FROM_HELP = (
    "Where the new generation starts reading. 0 (or earliest): the beginning of the log, a"
    " rebuild from scratch. An ISO-8601 time with a zone, or PARTITION:OFFSET[,...]: only"
    " when the log before it holds no event this projection applies (the build starts"
    " empty, so the result would not equal a rebuild); otherwise refused, naming the first"
    " such event."
)


@app.command()
def replay(
    name: Annotated[str, typer.Argument(help="Projection name, e.g. sales.orders")],
    start: Annotated[
        str,
        typer.Option("--from", help=FROM_HELP),
    ] = "0",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would happen")] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Processes that build the new generation together (one consumer group; "
            "more than the topics' partitions leaves some idle)",
        ),
    ] = 1,
) -> None:
    """Build the next generation from the log while the live one serves, swap, drop the old.

    The new generation equals a rebuild from scratch, or the command refuses and says why.
    """
    services = build_services()
    if name not in services.projection_sinks:
        fail(f"unknown projection {name}; known: {', '.join(services.projection_sinks)}")
    sink = services.sink(name)

    def projector_for(pinned: Sink, group: str) -> Runner:
        if workers > 1:
            return replay_runner(services, name, pinned.generation(), group, workers)
        projector = services.projector(name, sink=pinned, group=group)
        tune_for_batches(projector.largest_batch)  # this process projects: see collector.py
        return projector

    handles = services.decoder(name, sink).handles
    scanner = services.reader(eof=True)
    job = Replay(
        sink,
        services.projection_topics(name),
        services.reader(),
        projector_for,
        lambda ranges: first_skipped_event(scanner, ranges, handles),
    )
    try:
        plan = job.plan(start)
    except (BadStartPosition, LookupError, KafkaException, ScanTimedOut) as error:
        fail(str(error))
    finally:
        scanner.close()
    if plan.target is not None:
        console.print(
            f"resuming the interrupted build of {name} v{plan.target} from its checkpoints"
            + (" (--from ignored)" if start not in BEGINNING else "")
        )
    target = f"v{plan.target}" if plan.target is not None else f"a new v{plan.live + 1}+"
    starts = ", ".join(f"{t}[{p}]@{o}" for (t, p), o in sorted(plan.start.items()))
    console.print(f"{name}: live v{plan.live}; build {target} from {starts}")
    console.print(f"  about {plan.events} events to apply, then swap and drop v{plan.live}")
    if dry_run:
        console.print("dry run: nothing changed")
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} ev/s"),
        TimeRemainingColumn(),
        TextColumn("lag {task.fields[lag]}"),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"replay {name}", total=plan.events or 1, rate=0.0, lag=plan.events)

        def report(progress: ReplayProgress) -> None:
            bar.update(
                task,
                completed=progress.done,
                total=max(progress.done + progress.remaining, 1),
                rate=progress.rate,
                lag=progress.remaining,
                description=f"replay {name} v{progress.generation}"
                + (" swapped" if progress.swapped else ""),
            )

        try:
            live = job.run(plan, report)
        except ReplayFailed as error:
            fail(f"{error}; run the same command again to resume")
    services.close()
    console.print(f"{name}: v{live} is live; v{plan.live} dropped")
