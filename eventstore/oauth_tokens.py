"""SASL/OAUTHBEARER tokens for clients that live for months.

A `TokenSource` makes a new token with its expiry: on MSK, an IAM token signed locally
(`aws-msk-iam-sasl-signer-python`, the `msk` extra) that lives 15 minutes; in tests, tokens
that expire in seconds. Both client libraries take tokens from one:

* librdkafka (`oauth_callback`): since confluent-kafka 2.13 its background thread calls
  `oauth_cb` at start and again at 80% of each token's lifetime, for producers, consumers and
  admin clients alike, and re-authenticates open connections before their session ends
  (KIP-368, librdkafka 2.2). Each call must return a new token.
* aiokafka, under Faust (`processors/faust_security.py`): it does not re-authenticate; the
  broker closes a connection whose session expired and aiokafka reconnects, asking for a token
  on every connection. `RefreshingTokens` hands out the current one and renews it at 80% of its
  lifetime, so a reconnect never presents a token that is about to expire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OAuthToken:
    """A bearer token and when it expires (epoch seconds)."""

    value: str
    expires_at: float


TokenSource = Callable[[], OAuthToken]
# confluent-kafka's `oauth_cb(sasl.oauthbearer.config) -> (token, expiry in epoch seconds)`
OAuthCallback = Callable[[str], tuple[str, float]]

REFRESH_AT = 0.8  # of a token's lifetime: librdkafka's own schedule


class ExpiredToken(Exception):
    """The token source returned a token that has already expired."""


def oauth_callback(source: TokenSource, clock: Callable[[], float] = time.time) -> OAuthCallback:
    """confluent-kafka's `oauth_cb`: a new token from `source` on every call.

    librdkafka decides when to call (start, then 80% of each lifetime); an exception here is
    reported by librdkafka as a token failure and retried, so a source that fails now and
    then costs a retry, not the client.
    """

    def oauth_cb(_config: str) -> tuple[str, float]:
        token = source()
        if token.expires_at <= clock():
            raise ExpiredToken(f"the token source returned a token expired at {token.expires_at}")
        return token.value, token.expires_at

    return oauth_cb


class RefreshingTokens:
    """The current token of a source, renewed at `REFRESH_AT` of its lifetime (thread-safe).

    For clients that ask on every connection (aiokafka): many connections share one token, and
    none is handed a token with less than a fifth of its life left.
    """

    def __init__(self, source: TokenSource, clock: Callable[[], float] = time.time) -> None:
        self._source = source
        self._clock = clock
        self._lock = threading.Lock()
        self._token: OAuthToken | None = None
        self._renew_at = 0.0

    def current(self) -> OAuthToken:
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._renew_at:
                token = self._source()
                if token.expires_at <= now:
                    raise ExpiredToken(
                        f"the token source returned a token expired at {token.expires_at}"
                    )
                self._token = token
                self._renew_at = now + (token.expires_at - now) * REFRESH_AT
            return self._token


def msk_iam_tokens(region: str) -> TokenSource:
    """MSK IAM tokens for the region, signed from the usual AWS credential chain."""
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider  # optional: only MSK needs it

    def token() -> OAuthToken:
        value, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return OAuthToken(str(value), expiry_ms / 1000)

    return token
