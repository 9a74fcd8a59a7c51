"""API authentication: bearer JWTs signed by keys made here and published by a local JWKS
endpoint; commands and queries need separate scopes; 401/403 say what is wrong."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from producers.app import create_app
from producers.auth import ApiAuth
from producers.bearer_tokens import TokenRules, TokenVerifier
from skald.http import build_api
from skald.registry import CONTEXTS
from skald.services import Services
from skald.settings import Settings
from tests.integration.jwks_server import AUDIENCE, ISSUER, Jwks, SigningKey, jwks_endpoint

COMMANDS, QUERIES = "skald/commands", "skald/queries"


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/things")
    def read() -> dict[str, str]:
        return {"read": "ok"}

    @router.post("/things")
    def write() -> dict[str, str]:
        return {"written": "ok"}

    return router


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey("key-1")


@pytest.fixture
def jwks(key: SigningKey) -> Iterator[Jwks]:
    with jwks_endpoint([key]) as served:
        yield served


def _app(url: str) -> FastAPI:
    auth = ApiAuth(TokenVerifier(TokenRules(url, ISSUER, AUDIENCE)), COMMANDS, QUERIES)
    return create_app([_router()], 10_000, lambda: None, lambda: None, auth=auth)


@pytest.fixture
def client(jwks: Jwks) -> TestClient:
    return TestClient(_app(jwks.url))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_with_the_scope_passes(client: TestClient, key: SigningKey) -> None:
    reader = _bearer(key.token(QUERIES))
    assert client.get("/things", headers=reader).json() == {"read": "ok"}
    both = _bearer(key.token(f"{QUERIES} {COMMANDS}"))
    assert client.post("/things", headers=both).json() == {"written": "ok"}
    # Some issuers list scopes in `scp`.
    assert client.post("/things", headers=_bearer(key.token(scp=[COMMANDS]))).status_code == 200


def test_commands_and_queries_need_their_own_scope(client: TestClient, key: SigningKey) -> None:
    answer = client.post("/things", headers=_bearer(key.token(QUERIES)))
    assert answer.status_code == 403
    assert answer.json() == {"detail": f"the token lacks the scope {COMMANDS} this route needs"}
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert client.get("/things", headers=_bearer(key.token(COMMANDS))).status_code == 403


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "needs a bearer token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "needs a bearer token"),
        ({"Authorization": "Bearer not.a.jwt"}, "no signing key for this token"),
    ],
)
def test_no_usable_token_is_a_401(client: TestClient, headers: dict[str, str], detail: str) -> None:
    answer = client.get("/things", headers=headers)
    assert answer.status_code == 401
    assert detail in answer.json()["detail"]
    assert answer.headers["www-authenticate"].startswith('Bearer realm="skald"')


def test_expired_foreign_and_forged_tokens_are_401(client: TestClient, key: SigningKey) -> None:
    def refused(token: str) -> str:
        answer = client.get("/things", headers=_bearer(token))
        assert answer.status_code == 401, answer.text
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
        return str(answer.json()["detail"])

    assert refused(key.token(QUERIES, lifetime=-120)) == "the token has expired"
    assert "not issued by" in refused(key.token(QUERIES, iss="https://evil.test"))
    assert "audience" in refused(key.token(QUERIES, aud="another-api"))
    assert "exp" in refused(key.token(QUERIES, exp=None))
    # Signed by another key under the published key id: the signature does not verify.
    assert "invalid token" in refused(SigningKey("key-1").token(QUERIES))
    # A key id the JWKS does not publish.
    assert "no signing key" in refused(SigningKey("key-9").token(QUERIES))
    # Unsigned, or "signed" with HMAC over the public key: never accepted.
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60, "scope": QUERIES}
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": "key-1"})
    assert refused(unsigned)


def test_a_cognito_access_token_names_its_client_instead_of_an_audience(
    client: TestClient, key: SigningKey
) -> None:
    cognito = key.token(QUERIES, aud=None, token_use="access", client_id=AUDIENCE)
    assert client.get("/things", headers=_bearer(cognito)).status_code == 200
    other = key.token(QUERIES, aud=None, token_use="access", client_id="someone-else")
    assert client.get("/things", headers=_bearer(other)).status_code == 401


def test_a_rotated_key_is_fetched_when_a_token_names_it(jwks: Jwks, key: SigningKey) -> None:
    verifier = TokenVerifier(
        TokenRules(jwks.url, ISSUER, AUDIENCE), jwt.PyJWKClient(jwks.url, cooldown_duration=0)
    )
    assert verifier.verify(key.token(QUERIES)).scopes == {QUERIES}
    rotated = SigningKey("key-2")
    jwks.keys.append(rotated)
    before = jwks.fetches
    assert verifier.verify(rotated.token(COMMANDS)).subject == "client-1"
    assert jwks.fetches == before + 1


def test_unreadable_signing_keys_are_a_503_with_retry_after(key: SigningKey) -> None:
    with jwks_endpoint([key]) as served:
        url = served.url
    answer = TestClient(_app(url)).get("/things", headers=_bearer(key.token(QUERIES)))
    assert answer.status_code == 503
    assert "signing keys" in answer.json()["detail"] and answer.headers["retry-after"] == "1"


def test_health_and_the_document_stay_open(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def _deployable(**auth: str) -> FastAPI:
    settings = Settings(_env_file=None, namespace="authdoc", **auth)  # type: ignore[arg-type]
    return build_api(Services(settings, CONTEXTS))


def test_the_deployable_documents_401_and_403_where_auth_applies(jwks: Jwks) -> None:
    on = _deployable(auth_jwks_url=jwks.url, auth_issuer=ISSUER, auth_audience=AUDIENCE)
    document = on.openapi()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        if path != "/health"
        for method, operation in methods.items()
    ]
    assert len(operations) > 10
    for path, method, operation in operations:
        assert {"401", "403"} <= set(operation["responses"]), (method, path)
        assert operation["security"] == [{"bearer": []}], (method, path)
    off = _deployable().openapi()
    assert "401" not in off["paths"]["/orders"]["post"]["responses"]


def test_the_deployables_routes_refuse_before_doing_anything(jwks: Jwks, key: SigningKey) -> None:
    app = _deployable(auth_jwks_url=jwks.url, auth_issuer=ISSUER, auth_audience=AUDIENCE)
    client = TestClient(app)  # no lifespan: nothing reaches Kafka or a database
    assert client.post("/orders", json={}).status_code == 401
    assert client.post("/orders", json={}, headers=_bearer(key.token(QUERIES))).status_code == 403
    assert client.get("/orders/o-1", headers=_bearer(key.token(COMMANDS))).status_code == 403
