"""The HTTP API refuses bad orders with a clear 4xx before touching any service."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from skald.http import build_api
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings
from tests.bad_orders import BAD_ORDERS, HOSTILE_READS, ITEM


@pytest.fixture(scope="module")
def client() -> TestClient:
    # Unreachable endpoints: any attempt to use a service would fail the test.
    settings = Settings(
        _env_file=None,
        kafka_bootstrap="127.0.0.1:1",
        pg_dsn="postgresql://x:x@127.0.0.1:1/x",
        opensearch_url="http://127.0.0.1:1",
    )
    return TestClient(build_api(Services(settings, CONTEXTS)))


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


@pytest.mark.parametrize("path", HOSTILE_READS)
def test_hostile_paths_and_queries_get_a_4xx_before_any_store(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code in (400, 404, 422), response.text
    assert response.json()["detail"]


def test_a_nul_in_a_body_is_a_422_naming_the_field(client: TestClient) -> None:
    body = {"customer_id": "nul\u0000x", "items": [{**ITEM, "name": "be\u0000ans"}]}
    response = client.post("/orders", json=body)
    assert response.status_code == 422
    fields = {problem["field"] for problem in response.json()["errors"]}
    assert fields == {"customer_id", "items.0.name"}


@pytest.mark.parametrize("key", ["\\ud800", "\\u0000\\u001b[31m"])
def test_a_hostile_unknown_field_name_is_echoed_safely(client: TestClient, key: str) -> None:
    body = b'{"customer_id": "c", "items": [], "%s": 1}' % key.encode()
    response = client.post("/orders", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.text.isprintable()  # no raw NUL or escape sequence goes back out


def test_every_operation_documents_the_422_it_sends_and_its_other_answers(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    problem = document["components"]["schemas"]["Problem"]
    assert {"detail", "errors", "error", "current_version"} <= set(problem["properties"])
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if operation.get("parameters") or operation.get("requestBody"):
                schema = responses["422"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (path, method)
            if any(p["name"] == "X-Skald-Position" for p in operation.get("parameters", [])):
                assert {"400", "504"} <= set(responses), (path, method)
            if method == "post":
                assert {"200", "201", "409", "413", "503", "504"} <= set(responses), path
                assert "Retry-After" in responses["503"]["headers"], path
