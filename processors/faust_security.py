"""Faust (aiokafka) credentials from the same connection as every confluent-kafka client:
PLAINTEXT locally, TLS, or TLS + IAM (SASL/OAUTHBEARER) on Amazon MSK."""

from __future__ import annotations

import asyncio
import ssl

from aiokafka.abc import AbstractTokenProvider
from faust.auth import Credentials, OAuthCredentials, SSLCredentials

from eventstore.kafka_connection import KafkaConnection


class MskIamTokenProvider(AbstractTokenProvider):
    """aiokafka's token provider: a fresh MSK IAM token, signed off the event loop."""

    def __init__(self, region: str) -> None:
        self._region = region

    async def token(self) -> str:
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider  # optional: the msk extra

        value, _expiry_ms = await asyncio.to_thread(
            MSKAuthTokenProvider.generate_auth_token, self._region
        )
        return str(value)


def broker_credentials(connection: KafkaConnection) -> Credentials | None:
    """The credentials for `faust.App(broker_credentials=...)`; None for PLAINTEXT."""
    if connection.auth == "msk-iam":
        assert connection.aws_region is not None  # enforced by KafkaConnection
        return OAuthCredentials(
            oauth_cb=MskIamTokenProvider(connection.aws_region),
            ssl_context=_tls(connection),  # IAM auth only exists over TLS
        )
    if connection.security_protocol == "SSL":
        return SSLCredentials(_tls(connection))
    if connection.security_protocol == "SASL_SSL":
        raise ValueError("SASL_SSL without SKALD_KAFKA_AUTH=msk-iam is not supported")
    return None


def _tls(connection: KafkaConnection) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=connection.ssl_ca_location)
