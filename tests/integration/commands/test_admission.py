"""Backpressure at the front door, through real processes (design invariant 10).

With no command processor, commands pile up unanswered: the API times them out (504), then
refuses new orders (503 + Retry-After). A processor started later drains the backlog, and
the API admits orders again by itself.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.integration.commands.harness import ProcessFactory
from tests.integration.commands.load import ORDER

OVERLOAD = {
    "SKALD_ADMISSION_MIN_MESSAGES": "20",
    "SKALD_ADMISSION_MAX_BACKLOG_SECONDS": "2",
    "SKALD_COMMAND_TIMEOUT_SECONDS": "1",
}
CLIENTS = 10
MOST_REQUESTS = 200


def test_the_api_refuses_orders_it_cannot_finish_and_recovers_when_the_backlog_drains(
    spawn: ProcessFactory,
) -> None:
    api = spawn("api", ["api"], env=OVERLOAD)
    api.wait_healthy()
    statuses: Counter[int] = Counter()
    refusals: list[httpx.Response] = []
    deadline = time.monotonic() + 60

    def post_until_refused(client: httpx.Client) -> None:
        while not refusals and sum(statuses.values()) < MOST_REQUESTS:
            assert time.monotonic() < deadline, f"no 503 within 60 s: {statuses}"
            response = client.post("/orders", json=ORDER)
            statuses[response.status_code] += 1
            if response.status_code == 503:
                refusals.append(response)

    with httpx.Client(base_url=api.url, timeout=30) as client:
        with ThreadPoolExecutor(CLIENTS) as pool:
            for future in [pool.submit(post_until_refused, client) for _ in range(CLIENTS)]:
                future.result()
        assert refusals, f"no 503 in {MOST_REQUESTS} requests: {statuses}"
        assert set(statuses) <= {503, 504}, statuses
        refused = refusals[0]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "Skald is at capacity" in refused.json()["detail"]
        scraped = client.get("/metrics/", follow_redirects=True).text
        assert 'skald_admission_refused_total{route="place_order"}' in scraped
        assert "skald_backlog_messages" in scraped

        spawn("processor", ["process"]).wait_for_log("assigned")
        recovery = time.monotonic() + 90
        answered: Counter[int] = Counter()
        while (status := client.post("/orders", json=ORDER).status_code) != 201:
            answered[status] += 1
            assert status in {503, 504}, answered
            assert time.monotonic() < recovery, f"still refused after 90 s: {answered}"
            time.sleep(0.5)
