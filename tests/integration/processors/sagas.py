"""Reading saga outcomes back from Kafka: the saga table's changelog and participants' events."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import httpx

from contexts.sales.aggregates import ORDER
from contexts.sales.fulfillment.topics import CHANGELOG
from processors.app import APP_NAME
from producers.messages import COMMAND_TYPE
from skald.services import Services
from tests.integration.commands.harness import SkaldProcess, read_events
from tests.integration.kafka_probe import committed_offsets, read_all

FINAL = {"done", "cancelled"}


def saga_states(services: Services) -> dict[str, dict[str, Any]]:
    """The newest state of every saga the table still holds, from its changelog."""
    topic = services.topic(CHANGELOG)
    states: dict[str, dict[str, Any]] = {}
    for message in read_all(services.settings.kafka_bootstrap, topic):
        key = (message.key() or b"").decode()
        if message.value() is None:  # a tombstone: the saga was forgotten
            states.pop(key, None)
        else:
            states[key] = json.loads(message.value() or b"null")
    return states


def phase_history(services: Services) -> dict[str, list[str]]:
    """Every saga's phases in changelog order (consecutive repeats folded)."""
    topic = services.topic(CHANGELOG)
    history: dict[str, list[str]] = defaultdict(list)
    for message in read_all(services.settings.kafka_bootstrap, topic):
        if message.value() is None:
            continue  # a forgotten saga's tombstone
        phase = json.loads(message.value() or b"null")["phase"]
        phases = history[(message.key() or b"").decode()]
        if not phases or phases[-1] != phase:
            phases.append(phase)
    return history


def wait_final(
    services: Services,
    order_ids: list[str],
    timeout: float = 90,
    workers: Sequence[SkaldProcess] = (),
) -> dict[str, Any]:
    """Wait until every named saga is final with nothing pending; their states. On failure
    the message quotes what `workers` logged about each stuck saga and about their commits."""
    deadline = time.monotonic() + timeout
    while True:
        states = saga_states(services)
        done = {o: states[o] for o in order_ids if _settled(states.get(o))}
        if len(done) == len(order_ids):
            return done
        stuck = {o: states.get(o) for o in order_ids if o not in done}
        if time.monotonic() >= deadline:
            said = [
                f"{w.name}: {line}" for w in workers for line in w.log().splitlines()
                if any(o in line for o in stuck) or any(w in line for w in _COMMIT_WARNINGS)
            ]  # fmt: skip
            where = _whereabouts(services, set(stuck))
            raise AssertionError(
                f"{len(stuck)} sagas not final: {stuck}\n" + "\n".join([*where, *said])
            )
        time.sleep(1)


# What the worker's consumer logs when records it fetched were not handled (faust_kafka.py).
_COMMIT_WARNINGS = ("gave up waiting", "never handled; reading")


def _whereabouts(services: Services, order_ids: set[str]) -> list[str]:
    """Where the stuck sagas' order commands and events sit in their topics, and how far the
    workers' group committed there: a record below the commit was passed, never handled."""
    bootstrap = services.settings.kafka_bootstrap
    group = services.settings.group(APP_NAME)
    lines = []
    for name in (ORDER.commands_topic, ORDER.events_topic):
        topic = services.topic(name)
        committed = committed_offsets(bootstrap, group, topic)
        lines.append(f"{topic}: the workers committed {committed}")
        for message in read_all(bootstrap, topic):
            if (message.key() or b"").decode() in order_ids:
                headers = dict(message.headers() or ())
                kind = headers.get(COMMAND_TYPE) or headers.get("ce_type", b"")
                lines.append(
                    f"  {message.key()!r} {kind!r} at [{message.partition()}]@{message.offset()}"
                )
    return lines


def _settled(state: dict[str, Any] | None) -> bool:
    return state is not None and state["phase"] in FINAL and not state["pending"]


def events_by_type(services: Services, topic: str) -> dict[str, Counter[str]]:
    """Per aggregate id (or per order for stock), how many events of each type."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for event in read_events(services.settings, topic, services.codec):
        subject = str(event.body.get("order_id") or event.envelope.aggregate_id)
        found[subject][event.event_type.rsplit(".", 1)[1]] += 1
    return found


def place(
    api_url: str, sku_quantities: dict[str, int], token: str | None = None, price: int = 500
) -> str:
    items = [
        {"sku": sku, "name": sku, "quantity": q, "unit_price_cents": price}
        for sku, q in sku_quantities.items()
    ]
    body: dict[str, Any] = {"customer_id": "cust-1", "items": items}
    if token:
        body["payment_token"] = token
    key = str(uuid.uuid4())  # a retry after a refusal or a timeout is the same order
    deadline = time.monotonic() + 180
    while True:
        response = httpx.post(
            f"{api_url}/orders", json=body, headers={"Idempotency-Key": key}, timeout=15
        )
        if response.status_code not in (503, 504) or time.monotonic() > deadline:
            break
        # What a well-behaved client does when Skald is at capacity: come back later.
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 5.0))
    assert response.status_code == 201, response.text
    return str(response.json()["order_id"])


def restock(api_url: str, sku: str, quantity: int) -> None:
    response = httpx.post(
        f"{api_url}/inventory/{sku}/restock", json={"quantity": quantity}, timeout=15
    )
    assert response.status_code < 300, response.text


def saga_view(api_url: str, order_id: str, timeout: float = 20) -> dict[str, Any]:
    """`GET /sagas/{order_id}` once it shows the saga final (the read model trails the table)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{api_url}/sagas/{order_id}", timeout=5)
        if response.status_code == 200 and _settled(response.json()):
            return dict(response.json())
        assert time.monotonic() < deadline, (response.status_code, response.text)
        time.sleep(0.5)
