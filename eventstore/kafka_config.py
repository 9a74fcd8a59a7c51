"""librdkafka settings for every Skald client, each non-default key saying why.

Group ids arrive whole: namespacing them is the caller's business, not the event store's.
"""

from __future__ import annotations

from typing import Any

from eventstore.kafka_connection import KafkaConnection
from eventstore.kafka_security import security_config

# The largest record any Skald producer sends. The broker's own limit (`message.max.bytes`,
# 1048588 by default, and each topic's `max.message.bytes`) is a little above it, so a
# record the producer accepts is one the broker accepts. Producers that build records from
# client input check against it first (see `producers/limits.py`).
MAX_MESSAGE_BYTES = 1_000_000


def _common(connection: KafkaConnection) -> dict[str, Any]:
    return {
        "bootstrap.servers": connection.bootstrap,
        "client.id": "skald",
        **security_config(connection),
    }


def producer_config(connection: KafkaConnection) -> dict[str, Any]:
    """An idempotent producer whose acknowledged writes are on every in-sync replica."""
    return {
        **_common(connection),
        "acks": "all",  # acknowledged means on all in-sync replicas: nothing acked is lost
        "enable.idempotence": True,  # retries never duplicate or reorder within a partition
        "partitioner": "murmur2_random",  # same key -> same partition as Java/aiokafka/Faust
        "linger.ms": 2,  # batches form under load; a lone request waits at most 2 ms
        "compression.type": "lz4",  # cheap CPU, smaller batches on the wire and on disk
        "message.max.bytes": MAX_MESSAGE_BYTES,  # stays under the broker's limit: see above
    }


MIN_DELIVERY_MS = 2000


def command_producer_config(connection: KafkaConnection, reply_timeout_ms: int) -> dict[str, Any]:
    """The API's producer of commands: a command the cluster won't take is refused in time.

    librdkafka retries a write refused for want of in-sync replicas (NOT_ENOUGH_REPLICAS) or
    of a leader until `message.timeout.ms` (5 min by default), long after the API stopped
    waiting for the reply (a 504, "may still be applied"). Failing delivery within half the
    reply deadline turns a cluster that can't take writes into a 503 with Retry-After, and a
    retry with the same Idempotency-Key is safe either way. Half, not all but a second: a
    request already sent ends only when the broker answers or its own timeout passes, and
    librdkafka adds slack to that (measured: 504s, not 503s, at the full deadline less 1 s).
    Never under 2 s: a healthy broker's first writes after a start (metadata, new leaders)
    took over 500 ms in CI, and a 503 there would refuse work a healthy cluster takes.
    """
    delivery_ms = max(MIN_DELIVERY_MS, reply_timeout_ms // 2)
    return {
        **producer_config(connection),
        "message.timeout.ms": delivery_ms,  # see above: a 503 before the reply deadline
        "request.timeout.ms": delivery_ms,  # the broker gives up waiting for acks as soon
    }


def consumer_config(connection: KafkaConnection, group_id: str) -> dict[str, Any]:
    """A consumer whose offsets live in the sink, not in Kafka's group offsets."""
    return {
        **_common(connection),
        "group.id": group_id,
        "enable.auto.commit": False,  # offsets commit with the read model, in its transaction
        "enable.auto.offset.store": False,  # same reason: Kafka never decides our position
        "auto.offset.reset": "earliest",  # a new projection starts from the first event
        "isolation.level": "read_committed",  # never project events of aborted transactions
        "partition.assignment.strategy": "cooperative-sticky",  # rebalances move few partitions
        # A commit marker answers a parked read_committed fetch at once (Kafka 4.1, measured
        # with a subscribed consumer on 3 partitions: commit to delivery p50 3.8 ms at a 50 ms
        # wait, 4.2 ms at 500 ms), so the wait costs a read model no freshness; a long one
        # spares the broker empty fetches from every idle projector.
        "fetch.wait.max.ms": 500,
    }


# A consumer allowed to see records this late or later lets the broker gather them (below).
GATHER_FROM_MS = 100
GATHER_BYTES = 256 * 1024


def fetch_within(budget_ms: int) -> dict[str, Any]:
    """Fetch settings for a consumer that may see each record up to `budget_ms` after it was
    written (a read model's freshness budget), on top of `consumer_config`'s.

    By default the broker answers a fetch as soon as any record is there: under load, each
    consumer fetches once per batch its topics receive, and every fetch costs the broker a
    request (its system time was 40 % of its CPU under load). A consumer with room in its
    budget asks for `GATHER_BYTES` instead, waiting at most the budget: a few fetches a second
    whatever the load. Tighter budgets keep being answered at once.
    """
    if budget_ms < GATHER_FROM_MS:
        return {}
    return {"fetch.min.bytes": GATHER_BYTES, "fetch.wait.max.ms": budget_ms}


def admin_config(connection: KafkaConnection) -> dict[str, Any]:
    """An admin client for topic management and health checks."""
    return _common(connection)


# Longer than any transaction lasts: its writes leave only when it flushes (see below).
TRANSACTION_LINGER_MS = 100


def transactional_producer_config(
    connection: KafkaConnection, transactional_id: str
) -> dict[str, Any]:
    """A producer that writes events, snapshots, replies and offsets atomically."""
    return {
        **producer_config(connection),
        "transactional.id": transactional_id,  # one per processor instance (KIP-447)
        # A transaction sends what it produced when it flushes (flush and commit override the
        # linger, librdkafka >= 1.8): one produce request per flush, not one per write its
        # broker thread happened to catch. Measured at 150 orders/s: produce requests per
        # order 8.7 -> 7.3 for the whole stack, one order alone through the saga p50
        # 100 -> 89 ms (0 ms: each write sent at once, overlapping the next decisions).
        "linger.ms": TRANSACTION_LINGER_MS,
        # A zombie's open transaction holds back every read_committed reader of the topics it
        # touched (replies too) until the broker aborts it: keep it short (Kafka Streams' EOS
        # default). Transactions last milliseconds; librdkafka lowers message.timeout.ms to it.
        "transaction.timeout.ms": 10000,
        # A transaction's first AddPartitions/AddOffsets is refused (CONCURRENT_TRANSACTIONS)
        # until the previous one's markers are written, then retried after this backoff.
        # Measured at 64 clients: 100 ms (default) 12.4 ms per send_offsets, 5 ms 5.0 ms.
        "retry.backoff.ms": 5,
        # Repeated refusals back off exponentially up to this (librdkafka's default is 1 s): a
        # broker slow to write markers under CPU contention put 40-160 ms waits in the tail.
        "retry.backoff.max.ms": 20,
    }


def command_consumer_config(connection: KafkaConnection, group_id: str) -> dict[str, Any]:
    """The command processor's consumer: offsets commit inside its transactions."""
    return {
        **_common(connection),
        "group.id": group_id,
        "enable.auto.commit": False,  # offsets commit with the events, in the transaction
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",  # a new group handles every command not yet handled
        "isolation.level": "read_committed",
        "partition.assignment.strategy": "cooperative-sticky",  # keep restored state on rebalance
        "session.timeout.ms": 10000,  # a dead or stopped writer loses its partitions in ~10 s
        "heartbeat.interval.ms": 2000,
        # New data wakes a parked fetch at once, so a long wait only saves the broker empty
        # fetches. Measured with one client: p50 14.3 ms at 5 ms, 13.2 ms at 500 ms;
        # the broker's CPU for an idle processor went from 11.5% to 7.7% of a core.
        "fetch.wait.max.ms": 500,
    }


def reader_config(connection: KafkaConnection, group_id: str) -> dict[str, Any]:
    """A consumer that assigns partitions by hand and reads to the end (restores, tails)."""
    return {
        **_common(connection),
        "group.id": group_id,  # required by the client, never joined
        "enable.auto.commit": False,
        "isolation.level": "read_committed",  # only what committed transactions wrote
        "enable.partition.eof": True,  # tells a restore it reached the end
        # The end is known when a fetch comes back empty, and the broker holds an empty fetch
        # for this long: short, so a restore does not wait at the end of every partition.
        "fetch.wait.max.ms": 5,
    }


def reply_reader_config(connection: KafkaConnection, group_id: str) -> dict[str, Any]:
    """A reader that follows a topic's tail for as long as it lives (the API's replies)."""
    return {
        **reader_config(connection, group_id),
        "enable.partition.eof": False,
        # A commit marker answers a parked read_committed fetch at once (Kafka 4.1, measured:
        # commit to delivery p50 4 ms at a 5 ms and at a 500 ms wait), so a long wait costs no
        # latency and spares the broker 200 empty fetches a second per idle API process.
        "fetch.wait.max.ms": 500,
    }
