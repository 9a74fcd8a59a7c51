"""The HTTP API refuses bad orders with a clear 4xx before touching any service."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from skald.api import create_app
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings
from tests.bad_orders import BAD_ORDERS


@pytest.fixture(scope="module")
def client() -> TestClient:
    # Unreachable endpoints: any attempt to use a service would fail the test.
    settings = Settings(
        _env_file=None,
        kafka_bootstrap="127.0.0.1:1",
        pg_dsn="postgresql://x:x@127.0.0.1:1/x",
        opensearch_url="http://127.0.0.1:1",
    )
    return TestClient(create_app(Services(settings, CONTEXTS)))


@pytest.mark.parametrize(
    ("body", "status", "names"), [c[1:] for c in BAD_ORDERS], ids=[c[0] for c in BAD_ORDERS]
)
def test_bad_orders_get_a_clear_4xx(
    client: TestClient, body: bytes, status: int, names: str
) -> None:
    response = client.post("/orders", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert names in response.json()["detail"]


def test_a_chunked_oversized_body_is_refused(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    response = client.post(
        "/orders", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_the_openapi_document_describes_orders(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/orders", "/orders/{order_id}", "/search/orders"} <= set(paths)
