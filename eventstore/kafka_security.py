"""How Skald's Kafka clients authenticate: PLAINTEXT locally, TLS and IAM on Amazon MSK.

MSK IAM is SASL/OAUTHBEARER whose token is a SigV4-presigned URL, signed locally from the
usual AWS credential chain by `aws-msk-iam-sasl-signer-python` (the `msk` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventstore.kafka_connection import KafkaConnection

OAuthCallback = Callable[[str], tuple[str, float]]


def msk_iam_token_callback(region: str) -> OAuthCallback:
    """confluent-kafka's `oauth_cb`: a fresh MSK IAM token and its expiry (epoch seconds)."""
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider  # optional: only MSK needs it

    def token(_config: str) -> tuple[str, float]:
        value, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return value, expiry_ms / 1000

    return token


def security_config(connection: KafkaConnection) -> dict[str, Any]:
    """librdkafka security settings for the cluster."""
    config: dict[str, Any] = {"security.protocol": connection.security_protocol}
    if connection.ssl_ca_location:
        config["ssl.ca.location"] = connection.ssl_ca_location
    if connection.auth == "msk-iam":
        assert connection.aws_region is not None  # enforced by KafkaConnection
        config.update(
            {
                "security.protocol": "SASL_SSL",  # IAM auth only exists over TLS
                "sasl.mechanism": "OAUTHBEARER",
                "oauth_cb": msk_iam_token_callback(connection.aws_region),
            }
        )
    return config
