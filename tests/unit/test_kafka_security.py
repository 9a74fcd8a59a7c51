"""Kafka client security: PLAINTEXT by default, TLS + IAM (OAUTHBEARER) for Amazon MSK."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from eventstore.kafka_config import consumer_config, producer_config
from eventstore.kafka_connection import KafkaConnection
from skald.settings import Settings


def test_local_clients_use_plaintext() -> None:
    config = producer_config(Settings(_env_file=None).kafka_connection())
    assert config["security.protocol"] == "PLAINTEXT"
    assert "oauth_cb" not in config


def test_msk_iam_uses_sasl_ssl_with_a_signed_iam_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    settings = Settings(_env_file=None, kafka_auth="msk-iam", aws_region="eu-west-1")
    config = consumer_config(settings.kafka_connection(), "g")
    assert (config["security.protocol"], config["sasl.mechanism"]) == ("SASL_SSL", "OAUTHBEARER")
    token, expiry = config["oauth_cb"]("")
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    assert url.startswith("https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect")
    assert "X-Amz-Signature=" in url
    assert expiry > 1_700_000_000  # epoch seconds, not milliseconds


def test_msk_iam_without_a_region_is_refused() -> None:
    with pytest.raises(ValidationError, match="SKALD_AWS_REGION"):
        Settings(_env_file=None, kafka_auth="msk-iam")


def test_a_connection_with_msk_iam_but_no_region_is_refused() -> None:
    with pytest.raises(ValueError, match="region"):
        KafkaConnection("localhost:9092", auth="msk-iam")
