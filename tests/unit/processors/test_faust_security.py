"""The Faust worker authenticates like every other client: PLAINTEXT, TLS, or MSK IAM."""

from __future__ import annotations

import asyncio
import base64

import pytest
from faust.auth import OAuthCredentials, SSLCredentials

from processors.faust_security import broker_credentials
from skald.settings import Settings


def test_plaintext_needs_no_credentials() -> None:
    assert broker_credentials(Settings(_env_file=None).kafka_connection()) is None


def test_tls_only() -> None:
    credentials = broker_credentials(
        Settings(_env_file=None, kafka_security_protocol="SSL").kafka_connection()
    )
    assert isinstance(credentials, SSLCredentials)


def test_msk_iam_is_oauthbearer_over_tls_with_a_signed_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    settings = Settings(_env_file=None, kafka_auth="msk-iam", aws_region="us-east-1")
    credentials = broker_credentials(settings.kafka_connection())
    assert isinstance(credentials, OAuthCredentials)
    assert credentials.ssl_context is not None  # SASL_SSL
    token = asyncio.run(credentials.oauth_cb.token())
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    assert url.startswith("https://kafka.us-east-1.amazonaws.com/?Action=kafka-cluster%3AConnect")
