"""The session maps librdkafka's transactional errors to retry, abort-and-rewind, or reset.

The producer is a stand-in that fails on cue; the real broker paths are in
tests/integration/commands (fencing, broker stall, transactional id expiry)."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from command_processor.session import SessionReset, TransactionAborted, TransactionSession
from eventstore.position import Position


def _error(*, retriable: bool = False, abortable: bool = False, fatal: bool = False) -> Any:
    return KafkaException(
        KafkaError(
            KafkaError._TIMED_OUT if retriable else KafkaError._STATE,
            "on cue",
            fatal=fatal,
            retriable=retriable,
            txn_requires_abort=abortable,
        )
    )


class Producer:
    """Records the transactional calls; `failures[name]` are raised by the next calls."""

    def __init__(self, failures: dict[str, list[Any]]) -> None:
        self.failures = failures
        self.calls: list[str] = []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        queued = self.failures.get(name)
        if queued:
            raise queued.pop(0)

    def init_transactions(self, timeout: float) -> None:
        self._call("init")

    def begin_transaction(self) -> None:
        self._call("begin")

    def commit_transaction(self, timeout: float) -> None:
        self._call("commit")

    def abort_transaction(self, timeout: float) -> None:
        self._call("abort")

    def send_offsets_to_transaction(self, offsets: Any, metadata: Any, timeout: float) -> None:
        self._call("send_offsets")

    def flush(self, timeout: float) -> int:
        return 0

    def purge(self) -> None:
        self._call("purge")

    def list_topics(self, topic: str, timeout: float) -> Any:
        """Metadata as librdkafka answers it: a missing topic comes back with an error."""
        self._call("list_topics")
        missing = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)
        error = None if topic.startswith("ns.") else missing
        return SimpleNamespace(topics={topic: SimpleNamespace(error=error)})


def _session(failures: dict[str, list[Any]]) -> tuple[TransactionSession, list[Producer]]:
    made: list[Producer] = []

    def new_producer(config: dict[str, object]) -> Any:
        made.append(Producer(failures))
        return made[-1]

    session = TransactionSession(
        {}, call_timeout=0.01, give_up_after=5.0, new_producer=new_producer
    )
    return session, made


def test_a_timed_out_commit_is_resumed_not_redone() -> None:
    session, made = _session({"commit": [_error(retriable=True), _error(retriable=True)]})
    session.begin()
    session.commit()
    assert made[0].calls == ["init", "begin", "commit", "commit", "commit"]
    assert not session.in_transaction and len(made) == 1


def test_an_abortable_error_aborts_and_asks_for_a_rewind() -> None:
    session, made = _session({"send_offsets": [_error(abortable=True)]})
    session.begin()
    with pytest.raises(TransactionAborted):
        session.send_offsets([], object())
    assert made[0].calls[-2:] == ["send_offsets", "abort"]
    assert not session.in_transaction and len(made) == 1
    session.begin()  # the same producer goes on
    session.commit()


def test_a_timed_out_abort_is_retried() -> None:
    failures = {"commit": [_error(abortable=True)], "abort": [_error(retriable=True)]}
    session, made = _session(failures)
    session.begin()
    with pytest.raises(TransactionAborted):
        session.commit()
    assert made[0].calls[-3:] == ["commit", "abort", "abort"]


@pytest.mark.parametrize(
    "error",
    [_error(fatal=True), _error()],  # neither retriable nor abortable counts as fatal
    ids=["fatal", "unclassified"],
)
def test_a_fatal_error_replaces_the_producer(error: Any) -> None:
    session, made = _session({"commit": [error]})
    session.begin()
    with pytest.raises(SessionReset):
        session.commit()
    assert len(made) == 2 and made[1].calls == ["init"]  # re-fenced on the same id
    assert not session.in_transaction
    session.begin()
    session.commit()
    assert made[1].calls == ["init", "begin", "commit"]


def test_a_failing_abort_replaces_the_producer() -> None:
    failures = {"commit": [_error(abortable=True)], "abort": [_error(fatal=True)]}
    session, made = _session(failures)
    session.begin()
    with pytest.raises(SessionReset):
        session.commit()
    assert len(made) == 2


class WedgedProducer(Producer):
    """send_offsets_to_transaction never returns until released, as librdkafka's does when
    the group coordinator leaves the cluster under it (librdkafka#5456, #5511)."""

    def __init__(self, failures: dict[str, list[Any]]) -> None:
        super().__init__(failures)
        self.release = threading.Event()

    def send_offsets_to_transaction(self, offsets: Any, metadata: Any, timeout: float) -> None:
        self._call("send_offsets")
        self.release.wait(30)


def test_a_hung_send_offsets_replaces_the_producer_without_touching_it() -> None:
    made: list[Producer] = []

    def new_producer(config: dict[str, object]) -> Any:
        made.append(WedgedProducer({}) if not made else Producer({}))
        return made[-1]

    session = TransactionSession(
        {}, call_timeout=0.01, give_up_after=5.0, new_producer=new_producer, hung_after=0.2
    )
    session.begin()
    with pytest.raises(SessionReset):
        session.send_offsets([], object())
    wedged = made[0]
    assert wedged.calls == ["init", "begin", "send_offsets"]  # no purge, no abort under the call
    assert len(made) == 2 and made[1].calls == ["init"]  # re-fenced on the same id
    assert not session.in_transaction

    session.begin()  # the new producer serves, send_offsets included
    session.send_offsets([], object())
    session.commit()
    assert made[1].calls == ["init", "begin", "send_offsets", "commit"]
    assert isinstance(wedged, WedgedProducer)
    wedged.release.set()
    assert wedged.calls == ["init", "begin", "send_offsets"]
    session.close()


def test_a_reply_reaches_only_a_topic_the_cluster_has() -> None:
    session, made = _session({})
    assert session.reaches("ns.replies") and session.reaches("ns.replies")
    assert not session.reaches("skald.replies")
    assert made[0].calls.count("list_topics") == 2  # the existing topic was asked about once


def test_a_reply_topic_the_cluster_cant_be_asked_about_aborts_the_transaction() -> None:
    session, made = _session({"list_topics": [_error(retriable=True)]})
    session.begin()
    with pytest.raises(TransactionAborted):  # rewound and retried, no reply dropped on a guess
        session.reaches("ns.replies")
    assert made[0].calls[-2:] == ["list_topics", "abort"]


class DeliveringProducer(Producer):
    """Delivers what is queued at `flush`, offsets counting from 100 per partition."""

    def __init__(self, failures: dict[str, list[Any]]) -> None:
        super().__init__(failures)
        self.queued: list[tuple[str, int, Any]] = []
        self.next_offset: dict[tuple[str, int], int] = {}

    def produce(self, topic: str, *, on_delivery: Any, partition: int = 0, **_: Any) -> None:
        self.queued.append((topic, partition, on_delivery))

    def flush(self, timeout: float) -> int:
        for topic, partition, on_delivery in self.queued:
            offset = self.next_offset.get((topic, partition), 100)
            self.next_offset[topic, partition] = offset + 1
            message = SimpleNamespace(
                topic=lambda t=topic: t, partition=lambda p=partition: p, offset=lambda o=offset: o
            )
            on_delivery(None, message)
        self.queued.clear()
        return 0


def test_flush_tells_where_each_ticket_landed_and_they_stay_readable() -> None:
    def new_producer(config: dict[str, object]) -> Any:
        return DeliveringProducer({})

    session = TransactionSession({}, call_timeout=0.01, new_producer=new_producer)
    session.begin()
    first = session.produce("ns.events", b"k", b"v", [], partition=2)
    second = session.produce("ns.events", b"k", b"v", [], partition=2)
    other = session.produce("ns.state", b"k", b"v", [], partition=0)
    positions = session.flush()
    session.commit()
    assert positions[first] == Position("ns.events", 2, 100)
    assert positions[second] == Position("ns.events", 2, 101)
    assert positions[other] == Position("ns.state", 0, 100)
    assert len(positions) == 3
    session.begin()  # the next transaction starts afresh; the last one's answers stay
    assert session.flush() == {}
    assert positions[second] == Position("ns.events", 2, 101)
