"""Issue 12's cases against `skald run`: hostile input gets a 4xx and changes nothing, a
forged position is refused at once, exact ids find their order, and an order of emoji that
once became a command over Kafka's record limit is accepted and read back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contexts.sales.topics import ORDER_EVENTS
from eventstore.position import Position
from skald.services import Services
from tests.bad_orders import EDGE_READS, GOOD_ORDER, HOSTILE_READS, ITEM
from tests.integration.eventually import eventually
from tests.integration.kafka_probe import end_offsets

WITHIN = 30.0  # seconds; generous: the machine is shared


@pytest.fixture(scope="module")
def api(live_skald: tuple[str, Services]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_skald[0], timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def services(live_skald: tuple[str, Services]) -> Services:
    return live_skald[1]


@pytest.mark.parametrize("path", HOSTILE_READS)
def test_hostile_paths_and_queries_get_a_4xx(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code in (400, 404, 422), response.text
    assert response.json()["detail"]


@pytest.mark.parametrize("path", EDGE_READS)
def test_edge_values_the_stores_hold_are_answered(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 200, response.text


def test_a_nul_in_an_order_is_a_422_and_appends_nothing(
    api: httpx.Client, services: Services
) -> None:
    topic = services.settings.topic(ORDER_EVENTS)
    before = end_offsets(services.settings.kafka_bootstrap, topic)
    response = api.post("/orders", json={**GOOD_ORDER, "customer_id": "nul\u0000x"})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["errors"]] == ["customer_id"]
    time.sleep(0.5)  # anything wrongly produced would have been acknowledged by now
    assert end_offsets(services.settings.kafka_bootstrap, topic) == before


def test_a_forged_position_is_refused_at_once(api: httpx.Client, services: Services) -> None:
    topic = services.settings.topic(ORDER_EVENTS)
    for partition, offset in [(99, 0), (-1, 0), (0, -5)]:
        token = Position(topic, partition, offset).token()
        started = time.monotonic()
        response = api.get("/orders/o-1", headers={"X-Skald-Position": token})
        assert response.status_code == 400, response.text
        assert time.monotonic() - started < 3  # the read-your-writes timeout is 5 s
        assert "does not have" in response.json()["detail"]


def test_an_exact_id_finds_its_order_first(api: httpx.Client) -> None:
    def place(customer: str, sku: str) -> dict[str, Any]:
        body = {"customer_id": customer, "items": [{**ITEM, "sku": sku}]}
        response = api.post("/orders", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    # Shared word pieces ("cust", "sku", "search") make the text match every order.
    mine = place("cust-search-ada", "SKU-SEARCH-MUG")
    others = [place(f"cust-search-{n}", f"SKU-SEARCH-{n}") for n in range(3)]
    headers = {"X-Skald-Position": others[-1]["position"]}

    def first_hit(text: str) -> str | None:
        response = api.get("/search/orders", params={"q": text}, headers=headers)
        assert response.status_code == 200, response.text
        hits = response.json()["orders"]
        return hits[0]["order_id"] if hits else None

    assert eventually(lambda: first_hit(mine["order_id"]) == mine["order_id"], WITHIN)
    assert first_hit("cust-search-ada") == mine["order_id"]
    assert first_hit("SKU-SEARCH-MUG") == mine["order_id"]


def test_an_order_of_emoji_under_the_body_limit_is_accepted_and_readable(
    api: httpx.Client,
) -> None:
    # 500 lines of 200 emoji: ~440 KB of UTF-8. Escaped as JSON (\\ud83d\\ude00 per emoji)
    # the command was 1.2 MB, over Kafka's record limit, and the API answered 500.
    items = [{**ITEM, "sku": f"SKU-{n}", "name": "😀" * 200} for n in range(500)]
    response = api.post("/orders", json={"customer_id": "cust-emoji", "items": items})
    assert response.status_code == 201, response.text
    accepted = response.json()
    read = api.get(
        f"/orders/{accepted['order_id']}",
        headers={"X-Skald-Position": accepted["position"]},
        timeout=60,
    )
    assert read.status_code == 200, read.text
    assert read.json()["items"][499]["name"] == "😀" * 200


def test_a_skus_first_restock_answers_the_documented_201(api: httpx.Client) -> None:
    documented = api.get("/openapi.json").json()["paths"]["/inventory/{sku}/restock"]["post"]
    first = api.post("/inventory/SKU-NEW-1/restock", json={"quantity": 5})
    again = api.post("/inventory/SKU-NEW-1/restock", json={"quantity": 5})
    assert (first.status_code, again.status_code) == (201, 200)
    assert {"200", "201"} <= set(documented["responses"])
