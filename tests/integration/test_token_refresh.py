"""Clients that outlive their tokens: a private broker with a SASL/OAUTHBEARER listener that
ends each session when its token expires (as MSK does with IAM sessions), and tokens that
live three seconds. librdkafka re-authenticates with refreshed tokens; aiokafka (Faust's
client) has its connection closed and reconnects with a fresh one. Nothing is lost."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as Partition
from confluent_kafka.admin import AdminClient, NewTopic

from eventstore import kafka_config
from eventstore.kafka_connection import KafkaConnection
from eventstore.oauth_tokens import OAuthToken
from processors.consumer_stop import stop_consumer
from processors.faust_security import RefreshingTokenProvider
from tests.integration.running_service import free_port
from tests.integration.throwaway_kafka import kafka_libs, throwaway_kafka

pytestmark = pytest.mark.integration

TOKEN_SECONDS = 3
RUN_SECONDS = 12  # four token lifetimes


def _sasl_listener(port: int) -> dict[str, str]:
    sasl = f"SASL_PLAINTEXT://localhost:{port}"
    return {
        "listeners": "PLAINTEXT://localhost:${KAFKA_PORT},"
        "CONTROLLER://localhost:${KAFKA_CONTROLLER_PORT}," + sasl,
        "advertised.listeners": "PLAINTEXT://localhost:${KAFKA_PORT}," + sasl,
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
        "SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "OAUTHBEARER",
        # Kafka's unsecured OAUTHBEARER validator: it checks the token's `exp`, not a signature.
        "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": "org.apache.kafka.common."
        "security.oauthbearer.OAuthBearerLoginModule required;",
        # Sessions end when their token expires (> 0 turns session expiry on, as on MSK).
        "connections.max.reauth.ms": "600000",
        "auto.create.topics.enable": "false",
    }


class UnsecuredTokens:
    """Unsigned JWTs (`alg: none`) that expire in TOKEN_SECONDS; counts how many were made."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self) -> OAuthToken:
        self.made += 1
        now = int(time.time())
        claims = {"sub": "skald", "iat": now, "exp": now + TOKEN_SECONDS}
        parts = [{"alg": "none"}, claims]
        encoded = [base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=") for p in parts]
        return OAuthToken(b".".join(encoded).decode() + ".", float(now + TOKEN_SECONDS))


async def _run(sasl: str, topic: str) -> tuple[UnsecuredTokens, UnsecuredTokens, list[set[str]]]:
    rd_tokens, aio_tokens = UnsecuredTokens(), UnsecuredTokens()
    connection = KafkaConnection(sasl, "SASL_PLAINTEXT", token_source=rd_tokens)
    producer = Producer(kafka_config.producer_config(connection))
    consumer = Consumer(kafka_config.consumer_config(connection, "refresh-rd"))
    consumer.assign([Partition(topic, 0, 0)])
    auth = {
        "bootstrap_servers": sasl,
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "OAUTHBEARER",
        "sasl_oauth_token_provider": RefreshingTokenProvider(aio_tokens),
    }
    aio_producer = AIOKafkaProducer(**auth, acks="all")
    aio_consumer = AIOKafkaConsumer(**auth, auto_offset_reset="earliest")
    await aio_producer.start()
    await aio_consumer.start()
    aio_consumer.assign([TopicPartition(topic, 0)])
    sent: set[str] = set()
    seen_rd: set[str] = set()
    seen_aio: set[str] = set()

    def poll_rd() -> None:
        while (message := consumer.poll(0.05)) is not None:
            if message.error() is None:
                seen_rd.add((message.value() or b"").decode())

    async def poll_aio() -> None:
        batches = await aio_consumer.getmany(timeout_ms=50)
        seen_aio.update((r.value or b"").decode() for rs in batches.values() for r in rs)

    try:
        started, i = time.monotonic(), 0
        while time.monotonic() - started < RUN_SECONDS:
            i += 1
            producer.produce(topic, f"rd-{i}".encode(), partition=0)
            producer.poll(0)
            await aio_producer.send_and_wait(topic, f"aio-{i}".encode(), partition=0)
            sent |= {f"rd-{i}", f"aio-{i}"}
            poll_rd()
            await poll_aio()
            await asyncio.sleep(0.2)
        assert producer.flush(30) == 0, "the librdkafka producer could not deliver"
        deadline = time.monotonic() + 30
        while (seen_rd != sent or seen_aio != sent) and time.monotonic() < deadline:
            poll_rd()
            await poll_aio()
    finally:
        await aio_producer.stop()
        await stop_consumer(aio_consumer)  # the broker closes connections every 3 s
        consumer.close()
    return rd_tokens, aio_tokens, [sent, seen_rd, seen_aio]


@pytest.mark.timeout(300)
def test_clients_survive_their_tokens_expiring(tmp_path: Path) -> None:
    libs = kafka_libs()
    if libs is None:
        pytest.skip("no Kafka distribution here (deploy/local/stack.py up fetches it)")
    port = free_port()
    with throwaway_kafka(tmp_path, libs, _sasl_listener(port)) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("refresh", 1, 1)])["refresh"].result()
        rd_tokens, aio_tokens, (sent, seen_rd, seen_aio) = asyncio.run(
            _run(f"localhost:{port}", "refresh")
        )
    assert seen_rd == sent, f"librdkafka consumer missed {sorted(sent - seen_rd)[:5]}"
    assert seen_aio == sent, f"aiokafka consumer missed {sorted(sent - seen_aio)[:5]}"
    lifetimes = RUN_SECONDS // TOKEN_SECONDS
    assert rd_tokens.made >= lifetimes, "librdkafka did not refresh its token"
    # aiokafka asks only when it connects: more tokens means the broker ended its sessions
    # and it reconnected.
    assert aio_tokens.made >= lifetimes - 1, "aiokafka never reconnected with a new token"
