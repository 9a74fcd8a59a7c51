"""Faust (aiokafka) credentials from the same connection as every confluent-kafka client:
PLAINTEXT locally, TLS, or TLS + IAM (SASL/OAUTHBEARER) on Amazon MSK.

aiokafka does not re-authenticate a SASL session (KIP-368): when a token's session ends, the
broker closes the connection and aiokafka opens a new one, asking the token provider again.
The provider therefore hands out a token that is current, renewed before it expires.
"""

from __future__ import annotations

import asyncio
import ssl

from aiokafka.abc import AbstractTokenProvider
from faust.auth import Credentials, OAuthCredentials, SSLCredentials

from eventstore.kafka_connection import KafkaConnection
from eventstore.oauth_tokens import RefreshingTokens, TokenSource


class RefreshingTokenProvider(AbstractTokenProvider):
    """aiokafka's token provider: the source's current token, renewed at 80% of its lifetime,
    made off the event loop (signing an IAM token is a little CPU and maybe a credential
    lookup)."""

    def __init__(self, source: TokenSource) -> None:
        self._tokens = RefreshingTokens(source)

    async def token(self) -> str:
        current = await asyncio.to_thread(self._tokens.current)
        return current.value


def broker_credentials(connection: KafkaConnection) -> Credentials | None:
    """The credentials for `faust.App(broker_credentials=...)`; None for PLAINTEXT."""
    tokens = connection.oauth_tokens()
    if tokens is not None:
        return OAuthCredentials(
            oauth_cb=RefreshingTokenProvider(tokens),
            # SASL_SSL with a TLS context; SASL_PLAINTEXT only where a test broker offers it.
            ssl_context=_tls(connection) if connection.sasl_protocol == "SASL_SSL" else None,
        )
    if connection.security_protocol == "SSL":
        return SSLCredentials(_tls(connection))
    if connection.security_protocol.startswith("SASL"):
        raise ValueError("SASL without SKALD_KAFKA_AUTH=msk-iam is not supported")
    return None


def _tls(connection: KafkaConnection) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=connection.ssl_ca_location)
