"""`skald topics plan|apply`: the declared topic specs against the cluster."""

from __future__ import annotations

import typer
from confluent_kafka import KafkaException
from rich.table import Table

from eventstore.topic_plan import Action, TopicChangeRefused, TopicPlan
from skald.cli.common import build_services, console, fail
from skald.provision import apply_topic_plan, plan_topic_specs
from skald.services import Services

app = typer.Typer(help="Compare the declared topics with the cluster, and apply them.")

_STYLE = {
    Action.CREATE: "green",
    Action.CHANGE: "yellow",
    Action.UNCHANGED: "dim",
    Action.REFUSED: "bold red",
}


@app.command("plan")
def plan() -> None:
    """Show what `apply` would create and change; exit 1 if a change would be refused."""
    services = build_services()
    try:
        topic_plan = _plan(services)
    finally:
        services.close()
    _show(topic_plan)
    if topic_plan.refused:
        fail(_refusal(topic_plan))
    if not topic_plan.pending:
        console.print("nothing to change")


@app.command("apply")
def apply() -> None:
    """Create missing topics and reconfigure existing ones (safe to repeat); refuses, changing
    nothing, a partition-count change of a keyed topic or a new cleanup.policy of an event
    topic."""
    services = build_services()
    try:
        apply_topics_or_fail(services)
    finally:
        services.close()


def apply_topics_or_fail(services: Services) -> None:
    """What `skald topics apply` and `skald setup` do: one path for every topic change."""
    try:
        topic_plan = apply_topic_plan(services)
    except TopicChangeRefused as refused:
        _show(refused.plan)
        fail(_refusal(refused.plan))
    except (KafkaException, TimeoutError) as error:
        fail(f"Kafka at {services.settings.kafka_bootstrap}: {error}")
    if not topic_plan.pending:
        console.print(f"topics: nothing to change ({len(topic_plan.topics)} up to date)")
    for change in topic_plan.pending:
        done = "created" if change.action is Action.CREATE else "changed"
        detail = "; ".join(change.changes) or _shape(change.partitions, change.replication)
        console.print(f"{done:>8}  {change.topic}  ({detail})")


def _plan(services: Services) -> TopicPlan:
    try:
        return plan_topic_specs(services)
    except KafkaException as error:
        fail(f"Kafka at {services.settings.kafka_bootstrap}: {error}")


def _show(topic_plan: TopicPlan) -> None:
    table = Table(title="topics: declared specs against the cluster")
    for column in ("topic", "action", "what"):
        table.add_column(column)
    for change in topic_plan.topics:
        if change.action is Action.CREATE:
            config = ", ".join(f"{k}={v}" for k, v in sorted(change.config.items()))
            lines = [_shape(change.partitions, change.replication), config]
        else:
            lines = [*change.changes, *change.refusals]
        lines += [f"note: {note}" for note in change.notes]
        style = _STYLE[change.action]
        table.add_row(change.topic, f"[{style}]{change.action}[/]", "\n".join(lines))
    console.print(table)


def _shape(partitions: int, replication: int) -> str:
    return f"{partitions} partitions, replication {replication}"


def _refusal(topic_plan: TopicPlan) -> str:
    lines = [f"{t.topic}: {r}" for t in topic_plan.refused for r in t.refusals]
    return "refused, nothing changed:\n  " + "\n  ".join(lines)
