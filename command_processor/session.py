"""The processor instance's transactional producer, and librdkafka's transactional error model.

One producer per processor instance (KIP-447): a transaction spans every partition the
instance owns; the consumed offsets join it with the consumer's group metadata, so the
broker refuses them from a member of an older group generation (a zombie).

Errors follow librdkafka's model (INTRODUCTION.md, "Transactional producer"):
- retriable (a timeout): the call is resumable and is simply made again;
- abortable (`txn_requires_abort`): the transaction is aborted and `TransactionAborted`
  tells the caller to rewind its input to the last committed offsets;
- fatal, or anything else: the producer is destroyed and a new one is initialised on the
  same transactional id (which fences the old one and completes its transaction), and
  `SessionReset` tells the caller to restore its state before going on.
`InvalidPidMapping` (the id expired) is abortable or fatal by the same rules, so it recovers.

Every call is bounded. librdkafka bounds each by its timeout but one: `send_offsets_to_transaction`
can wait forever when the group coordinator dies under it (see `bounded.py`), so it runs on a
helper thread with a deadline; past it the session leaves that producer to the thread and
replaces it, as for a fatal error (the new producer's epoch fences the stuck one).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition

from command_processor.bounded import BoundedCaller, CallHung
from command_processor.reply_topics import ReplyTopics
from eventstore.envelope import Headers
from eventstore.position import Position

log = logging.getLogger(__name__)

T = TypeVar("T")

# Metadata answers that mean no record to the topic can ever be delivered.
_NO_SUCH_TOPIC = frozenset(
    {
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._UNKNOWN_TOPIC,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.TOPIC_EXCEPTION,
    }
)


class TransactionAborted(Exception):
    """The transaction was aborted; nothing of it is visible. Rewind and try again."""


class SessionReset(Exception):
    """The producer was replaced after a fatal error; restore state before going on."""


class Positions(Mapping[int, Position]):
    """Where the records of one transaction landed, by ticket. A caller asks for a few (the
    last event of each command), so each is read from its delivery report when asked."""

    def __init__(self, delivered: dict[int, Message]) -> None:
        self._delivered = delivered

    def __getitem__(self, ticket: int) -> Position:
        message = self._delivered[ticket]
        return Position(message.topic() or "", message.partition() or 0, message.offset() or 0)

    def __iter__(self) -> Iterator[int]:
        return iter(self._delivered)

    def __len__(self) -> int:
        return len(self._delivered)


class TransactionSession:
    """Begin, produce, flush, commit or abort, with every failure mapped to one of three outcomes.

    `call_timeout` bounds one blocking librdkafka call; a retriable failure is retried until
    `give_up_after` seconds, then handled as fatal (a new producer re-fences and resolves):
    past the transaction timeout the broker has aborted the transaction anyway, and an abort
    that keeps timing out once the broker is back was seen to hang until then. Creating the
    new producer waits for the broker as long as it takes, logging while it does.
    `hung_after` (default: `call_timeout` + 5 s) is the hard deadline of a
    `send_offsets_to_transaction` call, which librdkafka does not always keep.
    """

    def __init__(
        self,
        config: dict[str, object],
        call_timeout: float = 10.0,
        give_up_after: float = 30.0,
        new_producer: Callable[[dict[str, object]], Producer] = Producer,
        hung_after: float | None = None,
    ) -> None:
        self._config = config
        self._call_timeout = call_timeout
        self._give_up_after = give_up_after
        self._hung_after = call_timeout + 5.0 if hung_after is None else hung_after
        self._new_producer = new_producer
        self._delivered: dict[int, Message] = {}
        self._failure: KafkaError | None = None
        self._sequence = 0
        self._open = False
        self._producer = self._initialised()
        self._offsets_caller = BoundedCaller("send-offsets")
        self._reply_topics = ReplyTopics(self._topic_exists)

    @property
    def in_transaction(self) -> bool:
        return self._open

    def begin(self) -> None:
        self._delivered = {}  # a new one: the positions `flush` handed out stay readable
        self._failure = None
        self._run("begin", self._producer.begin_transaction)
        self._open = True

    def produce(
        self, topic: str, key: bytes, value: bytes, headers: Headers, partition: int | None = None
    ) -> int:
        """Queue a record; returns a ticket whose position `flush()` reports."""
        self._sequence += 1
        ticket = self._sequence

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                self._failure = error
            else:
                self._delivered[ticket] = message  # read into a Position only if asked

        try:
            if partition is None:
                self._producer.produce(
                    topic, key=key, value=value, headers=headers, on_delivery=on_delivery
                )
            else:
                self._producer.produce(
                    topic,
                    key=key,
                    value=value,
                    headers=headers,
                    partition=partition,
                    on_delivery=on_delivery,
                )
        except KafkaException as error:
            self._handle(error.args[0], "produce")
        return ticket

    def reaches(self, topic: str) -> bool:
        """Whether a record to `topic` can be delivered: its name is valid and the cluster has
        it (`ReplyTopics`). A cluster that can't be asked aborts the transaction, to be retried."""
        try:
            return self._reply_topics.reachable(topic)
        except KafkaException as error:
            self._handle(error.args[0], "reply topic lookup", abortable=True)
            return False  # not reached: `_handle` raises

    def _topic_exists(self, topic: str) -> bool:
        metadata = self._producer.list_topics(topic, timeout=self._call_timeout)
        found = metadata.topics.get(topic)
        if found is None:
            return False
        if found.error is None:
            return True
        # Only a definite answer drops replies; any other error (a leader election, a topic
        # being created) is left to the produce, which retries it.
        return found.error.code() not in _NO_SUCH_TOPIC

    def flush(self) -> Positions:
        """Wait until every queued record is delivered; their positions by ticket.

        A record librdkafka gave up on (it times out within the transaction timeout) makes
        the transaction abortable, so the loop ends either way.
        """
        deadline = time.monotonic() + self._give_up_after
        while self._producer.flush(self._call_timeout) and self._failure is None:
            if time.monotonic() > deadline:
                timeout = KafkaError(KafkaError._TIMED_OUT, "records not delivered")
                self._handle(timeout, "flush", abortable=True)
            log.warning("records still undelivered after %.0f s; waiting", self._call_timeout)
        if self._failure is not None:
            failure, self._failure = self._failure, None
            self._handle(failure, "delivery", abortable=True)
        return Positions(self._delivered)

    def send_offsets(self, offsets: list[TopicPartition], group_metadata: object) -> None:
        """Add the consumed offsets; the broker refuses them from an older group generation.

        A call that outlives `hung_after` replaces the producer (`SessionReset`)."""
        producer, caller = self._producer, self._offsets_caller

        def send() -> None:
            producer.send_offsets_to_transaction(offsets, group_metadata, self._call_timeout)

        try:
            self._run("send offsets", lambda: caller.call(send, self._hung_after))
        except CallHung:
            log.error(
                "send_offsets_to_transaction has not returned after %.0f s: the group "
                "coordinator went away under it and librdkafka waits for it without a bound "
                "(librdkafka#5456, #5511); leaving that producer to its thread and replacing it",
                self._hung_after,
            )
            self._replace(wedged=True)
            raise SessionReset("send_offsets_to_transaction hung") from None

    def commit(self) -> None:
        """Commit (flushing whatever is queued); a timed-out commit is resumed, not redone."""
        self._run("commit", lambda: self._producer.commit_transaction(self._call_timeout))
        self._open = False

    def abort(self) -> None:
        """Abort the open transaction (retried while it times out); nothing of it stays visible."""
        if self._open:
            self._run("abort", lambda: self._producer.abort_transaction(self._call_timeout))
            self._open = False

    def close(self) -> None:
        """Abort what is open, trying once: a stopping instance never waits for a broker that
        is gone (`abort` retries, then re-creates the producer, which waits as long as it
        takes). Whatever stays open, the transaction timeout or the next instance's
        `init_transactions` aborts."""
        if self._open:
            with contextlib.suppress(KafkaException):
                self._producer.abort_transaction(self._call_timeout)
            self._open = False
        self._offsets_caller.close()

    def _run(self, what: str, call: Callable[[], T]) -> T:
        """Make the call, again while it fails retriably; map other failures."""
        deadline = time.monotonic() + self._give_up_after
        while True:
            try:
                return call()
            except KafkaException as exception:
                error: KafkaError = exception.args[0]
                if error.retriable() and not error.fatal() and time.monotonic() < deadline:
                    log.warning("transaction %s failed retriably (%s); retrying", what, error)
                    continue
                self._handle(error, what)

    def _handle(self, error: KafkaError, what: str, abortable: bool = False) -> None:
        if (abortable or error.txn_requires_abort()) and not error.fatal() and what != "abort":
            log.warning("transaction %s failed (%s); aborting it", what, error)
            self._open = True  # a failed begin/commit still leaves something to abort
            self.abort()
            raise TransactionAborted(error.str())
        log.error("transaction %s failed fatally (%s); replacing the producer", what, error)
        self._replace()
        raise SessionReset(error.str())

    def _replace(self, wedged: bool = False) -> None:
        """A new producer on the same id. A `wedged` one is still inside a call on its helper
        thread: it is not touched again, and that thread drops it when the call returns."""
        self._open = False
        old = self._producer
        if not wedged:
            with contextlib.suppress(KafkaException, RuntimeError):
                old.purge()  # a broken producer may refuse; it is dropped either way
            self._offsets_caller.close()
        del old
        self._producer = self._initialised()
        self._offsets_caller = BoundedCaller("send-offsets")

    def _initialised(self) -> Producer:
        """A producer with transactions initialised: its epoch fences every earlier one."""
        producer = self._new_producer(self._config)
        while True:
            try:
                producer.init_transactions(self._call_timeout)
                return producer
            except KafkaException as exception:
                error: KafkaError = exception.args[0]
                if not error.retriable():
                    raise
                log.warning("init_transactions failed retriably (%s); retrying", error)
