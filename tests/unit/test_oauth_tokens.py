"""Token refresh for clients that live for months: tokens that expire in seconds are asked
for again, by librdkafka's own schedule (oauth_cb) and by aiokafka's provider."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from faust.auth import OAuthCredentials

from eventstore import kafka_config
from eventstore.kafka_connection import KafkaConnection
from eventstore.oauth_tokens import ExpiredToken, OAuthToken, RefreshingTokens, oauth_callback
from processors.faust_security import RefreshingTokenProvider, broker_credentials


class ShortLivedTokens:
    """A token source whose tokens expire `lifetime` seconds after they are made."""

    def __init__(self, lifetime: float, clock: Callable[[], float] = time.time) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self.made: list[OAuthToken] = []
        self._serial = itertools.count(1)

    def __call__(self) -> OAuthToken:
        token = OAuthToken(f"token-{next(self._serial)}", self.clock() + self.lifetime)
        self.made.append(token)
        return token


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_callback_asks_the_source_on_every_call_and_answers_epoch_seconds() -> None:
    source = ShortLivedTokens(lifetime=3)
    callback = oauth_callback(source)
    first, second = callback(""), callback("")
    assert first[0] == "token-1" and second[0] == "token-2"
    assert isinstance(first[1], float) and abs(first[1] - (time.time() + 3)) < 1


def test_the_callback_refuses_an_expired_token() -> None:
    clock = FakeClock()
    callback = oauth_callback(ShortLivedTokens(lifetime=-1, clock=clock), clock=clock)
    with pytest.raises(ExpiredToken):
        callback("")


def _sasl(source: ShortLivedTokens) -> KafkaConnection:
    # Nothing listens on port 1: librdkafka asks for tokens whether or not it is connected.
    return KafkaConnection("127.0.0.1:1", "SASL_PLAINTEXT", token_source=source)


@pytest.mark.parametrize(
    "config",
    [
        lambda c: kafka_config.producer_config(c),
        lambda c: kafka_config.transactional_producer_config(c, "tx"),
        lambda c: kafka_config.consumer_config(c, "g"),
        lambda c: kafka_config.command_consumer_config(c, "g"),
        lambda c: kafka_config.reader_config(c, "g"),
        lambda c: kafka_config.admin_config(c),
    ],
)
def test_every_client_config_wires_the_callback(
    config: Callable[[KafkaConnection], dict[str, Any]],
) -> None:
    source = ShortLivedTokens(lifetime=60)
    built = config(_sasl(source))
    assert (built["security.protocol"], built["sasl.mechanism"]) == (
        "SASL_PLAINTEXT",
        "OAUTHBEARER",
    )
    assert built["oauth_cb"]("")[0] == source.made[-1].value


@pytest.mark.parametrize(
    "client",
    [
        lambda c: Producer({**kafka_config.producer_config(c), "log_level": 0}),
        lambda c: Consumer({**kafka_config.consumer_config(c, "g"), "log_level": 0}),
        lambda c: AdminClient({**kafka_config.admin_config(c), "log_level": 0}),
    ],
)
def test_librdkafka_asks_again_before_a_token_expires_without_being_polled(
    client: Callable[[KafkaConnection], Any],
) -> None:
    source = ShortLivedTokens(lifetime=1)
    handle = client(_sasl(source))
    deadline = time.monotonic() + 10
    while len(source.made) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(source.made) >= 3, "librdkafka stopped refreshing its token"
    del handle


def test_a_token_is_shared_until_four_fifths_of_its_life_then_renewed() -> None:
    clock = FakeClock()
    source = ShortLivedTokens(lifetime=10, clock=clock)
    tokens = RefreshingTokens(source, clock=clock)
    assert tokens.current().value == "token-1"
    clock.now += 7.9
    assert tokens.current().value == "token-1"
    clock.now += 0.2  # past 80% of its life
    assert tokens.current().value == "token-2"
    assert len(source.made) == 2


def test_an_expired_token_from_the_source_is_refused() -> None:
    clock = FakeClock()
    with pytest.raises(ExpiredToken):
        RefreshingTokens(ShortLivedTokens(lifetime=0, clock=clock), clock=clock).current()


def test_the_aiokafka_provider_asks_again_when_its_token_nears_expiry() -> None:
    source = ShortLivedTokens(lifetime=1)
    provider = RefreshingTokenProvider(source)

    async def reconnects() -> list[str]:
        first = await provider.token()
        again = await provider.token()  # another connection at once: the same token
        await asyncio.sleep(0.9)  # the broker closed the session; aiokafka reconnects
        return [first, again, await provider.token()]

    assert asyncio.run(reconnects()) == ["token-1", "token-1", "token-2"]


def test_faust_gets_the_refreshing_provider_for_injected_tokens() -> None:
    source = ShortLivedTokens(lifetime=60)
    credentials = broker_credentials(_sasl(source))
    assert isinstance(credentials, OAuthCredentials)
    assert credentials.ssl_context is None  # SASL_PLAINTEXT, as the connection says
    assert isinstance(credentials.oauth_cb, RefreshingTokenProvider)
    assert asyncio.run(credentials.oauth_cb.token()) == "token-1"
