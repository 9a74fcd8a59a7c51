"""How Skald's librdkafka clients authenticate: PLAINTEXT locally, TLS and IAM on Amazon MSK.

MSK IAM is SASL/OAUTHBEARER whose token is a SigV4-presigned URL; how tokens are made and
refreshed for clients that live for months is in `oauth_tokens.py`.
"""

from __future__ import annotations

from typing import Any

from eventstore.kafka_connection import KafkaConnection
from eventstore.oauth_tokens import oauth_callback


def security_config(connection: KafkaConnection) -> dict[str, Any]:
    """librdkafka security settings for the cluster."""
    config: dict[str, Any] = {"security.protocol": connection.security_protocol}
    if connection.ssl_ca_location:
        config["ssl.ca.location"] = connection.ssl_ca_location
    tokens = connection.oauth_tokens()
    if tokens is not None:
        config.update(
            {
                "security.protocol": connection.sasl_protocol,
                "sasl.mechanism": "OAUTHBEARER",
                # Called by librdkafka's background thread at start and at 80% of each
                # token's lifetime (confluent-kafka >= 2.13); open connections re-authenticate
                # with the new token before their session ends (KIP-368).
                "oauth_cb": oauth_callback(tokens),
            }
        )
    return config
