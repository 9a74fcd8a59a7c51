"""A processor idle past `transactional.id.expiration.ms` finds its id forgotten by the broker
(InvalidPidMapping) and recovers: the failed transaction is retried and lands once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from command_processor.session import SessionReset, TransactionAborted, TransactionSession
from eventstore import kafka_config
from skald.settings import Settings
from tests.integration.kafka_probe import read_all
from tests.integration.throwaway_kafka import kafka_libs, throwaway_kafka

# The broker forgets an idle transactional id after a second, checking twice a second.
EXPIRING_IDS = {
    "transactional.id.expiration.ms": "1000",
    "transaction.remove.expired.transaction.cleanup.interval.ms": "500",
}


def _commit(session: TransactionSession, topic: str, value: bytes) -> None:
    session.begin()
    session.produce(topic, b"k", value, [], partition=0)
    session.flush()
    session.commit()


@pytest.mark.timeout(600)
def test_an_expired_transactional_id_recovers(tmp_path: Path) -> None:
    libs = kafka_libs()
    if libs is None:
        pytest.skip("no Kafka distribution here (deploy/local/stack.py up fetches it)")
    with throwaway_kafka(tmp_path, libs, EXPIRING_IDS) as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("expiry", 1, 1)])["expiry"].result()
        connection = Settings(_env_file=None, kafka_bootstrap=broker.bootstrap).kafka_connection()
        config = kafka_config.transactional_producer_config(connection, "expiry.instance")
        session = TransactionSession(config, call_timeout=10.0, give_up_after=60.0)
        _commit(session, "expiry", b"before")
        time.sleep(5)  # the broker forgets the id

        recovered: list[str] = []
        for _ in range(3):
            try:
                _commit(session, "expiry", b"after")
                break
            except (TransactionAborted, SessionReset) as error:
                recovered.append(type(error).__name__)
        values = [m.value() for m in read_all(broker.bootstrap, "expiry")]
        assert values == [b"before", b"after"], recovered
        assert recovered, "the expiry went unnoticed: the test no longer tests anything"
        session.close()
