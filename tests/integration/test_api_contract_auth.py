"""The contract fuzz run with authentication on: every operation documents the bearer scheme,
401 and 403; schemathesis sends a token with both scopes, and checks that the operations
refuse requests without it (`ignored_auth`). Keys and the JWKS endpoint are made here."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from skald.services import Services
from tests.integration.conftest import _provisioned, fresh_settings
from tests.integration.jwks_server import AUDIENCE, ISSUER, SigningKey, jwks_endpoint
from tests.integration.running_service import running_skald
from tests.integration.stack import Endpoints
from tests.integration.test_api_contract import CHECKS, CONFIG

EXAMPLES_PER_OPERATION = 5  # the full fuzz run is test_api_contract.py; this is about auth
BUDGET_SECONDS = 240


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey("contract-key")


@pytest.fixture(scope="module")
def live_skald_with_auth(
    endpoints: Endpoints, key: SigningKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Services]]:
    log = tmp_path_factory.mktemp("skald") / "skald-run.log"
    settings = fresh_settings(endpoints).model_copy(update={"command_timeout_seconds": 30.0})
    with jwks_endpoint([key]) as jwks, pytest.MonkeyPatch.context() as env:
        # `skald run` and its children read these from the environment they inherit.
        env.setenv("SKALD_AUTH_JWKS_URL", jwks.url)
        env.setenv("SKALD_AUTH_ISSUER", ISSUER)
        env.setenv("SKALD_AUTH_AUDIENCE", AUDIENCE)
        with (
            _provisioned(settings) as built,
            running_skald(built.settings, log, timeout=120) as base_url,
        ):
            yield base_url, built


def test_the_api_with_auth_answers_as_its_document_says(
    live_skald_with_auth: tuple[str, Services], key: SigningKey, tmp_path: Path
) -> None:
    base_url, _ = live_skald_with_auth
    document = httpx.get(f"{base_url}/openapi.json").json()
    post_orders = document["paths"]["/orders"]["post"]
    assert {"401", "403"} <= set(post_orders["responses"])
    assert httpx.post(f"{base_url}/orders", json={}).status_code == 401

    token = key.token("skald/commands skald/queries", lifetime=3600)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        f"{CHECKS},ignored_auth",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "13",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "too_slow",
        "--no-color",
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=BUDGET_SECONDS * 2, check=False
    )
    output = run.stdout + run.stderr
    (tmp_path / "schemathesis.txt").write_text(output)
    assert run.returncode == 0, output
