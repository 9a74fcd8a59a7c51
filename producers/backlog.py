"""How long Skald's own queues would take to drain, measured from the groups doing the work.

A `BacklogMonitor` samples, every `interval` seconds, the committed offsets of the consumer
groups that do Skald's work (the command processor, the saga worker) against their topics'
end offsets. The lag is what is queued; the rise of the committed offsets over `window`
seconds, per second the group had work in it, is how fast it drains. `snapshot()` hands out
the latest `Backlog`, immutable.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from producers.metrics import BACKLOG_MESSAGES, BACKLOG_SECONDS

log = logging.getLogger(__name__)

_TIMEOUT = 10.0  # seconds one admin request may take
_METADATA_TTL = 60.0  # partition counts change rarely: re-read them this often
RATE_SAMPLES = 3  # intervals of history before a drain rate counts

# (group, topic, partition): one place where work queues.
Key = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class PartitionBacklog:
    """One partition as one group sees it."""

    group: str
    topic: str
    partition: int
    committed: int  # the group's committed offset (the low watermark if it never committed)
    end: int  # the read-committed end offset
    idle_since: float  # monotonic: when the offset last moved or the lag was last 0

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


@dataclass(frozen=True, slots=True)
class Backlog:
    """The work queued in Skald's groups at `taken_at` (monotonic), and how fast it drains.

    `rate_known` is false until the rate covers a few samples; `stale` is true when sampling
    has failed for a while. Either way the backlog says nothing reliable about capacity.
    """

    messages: int = 0
    drain_rate: float = 0.0
    taken_at: float = 0.0
    partitions: tuple[PartitionBacklog, ...] = ()
    rate_known: bool = False
    stale: bool = False
    # Each group's own drain rate (messages/s): the groups drain side by side, not as one.
    group_rates: Mapping[str, float] = field(default_factory=dict)

    @property
    def seconds_to_drain(self) -> float:
        """How long the slowest group takes to drain what it owes (the groups work side by
        side): 0 when nothing is queued; inf when work is queued and a full window drained
        none. Without per-group rates, all messages over the total rate."""
        if not self.group_rates:
            return self._seconds(self.messages, self.drain_rate)
        return max(
            (
                self._seconds(lag, self.group_rates.get(group, 0.0))
                for group, lag in self.group_lags().items()
            ),
            default=0.0,
        )

    def group_lags(self) -> dict[str, int]:
        """Messages each group owes, over its partitions."""
        lags: dict[str, int] = {}
        for p in self.partitions:
            lags[p.group] = lags.get(p.group, 0) + p.lag
        return lags

    def _seconds(self, messages: int, rate: float) -> float:
        if messages == 0:
            return 0.0
        if rate > 0:
            return messages / rate
        return math.inf if self.rate_known else 0.0

    def topic_lag(self, topic: str) -> int:
        """Messages of `topic` (namespaced) queued, over every group and partition."""
        return sum(p.lag for p in self.partitions if p.topic == topic)

    def busiest_topic(self) -> str | None:
        """The topic with the most messages queued (what an operator looks at first)."""
        lags: dict[str, int] = {}
        for p in self.partitions:
            lags[p.topic] = lags.get(p.topic, 0) + p.lag
        return max(lags, key=lambda topic: lags[topic]) if any(lags.values()) else None

    def topic_stalled(self, topic: str, seconds: float) -> bool:
        """Some partition of `topic` has work queued and its group has not moved it for
        `seconds` (idle time counts from when the work arrived, not from the last commit)."""
        return any(
            p.topic == topic and p.lag > 0 and self.taken_at - p.idle_since >= seconds
            for p in self.partitions
        )


class BacklogMonitor:
    """Samples the groups' backlog in a daemon thread; thread-safe `snapshot()`.

    `groups` maps a consumer group to its topics, or to None for the topics it committed.
    With topics given, a partition the group never committed counts from its low watermark:
    a group that never ran still owes those messages. Sampling errors keep the last
    snapshot, which is marked stale after `3 * interval` (a stale backlog admits: fail open).

    Transaction markers and aborted records take offsets that a consumer never commits past
    (Faust commits the last record + 1). With a `reader` (a read-committed, group-less
    consumer) the monitor looks at the tail of a partition whose group is idle, and a tail
    with no committed record counts as no work; without one, such tails count as lag.
    """

    def __init__(
        self,
        admin: AdminClient,
        groups: Mapping[str, Sequence[str] | None],
        interval: float = 1.0,
        window: float = 10.0,
        reader: Consumer | None = None,
    ) -> None:
        self._admin = admin
        self._reader = reader
        self._tails: dict[tuple[str, int], tuple[int, int, bool]] = {}  # (start, end, empty)
        self._groups = dict(groups)
        self._interval = interval
        self._window = window
        self._lock = threading.Lock()
        self._snapshot = Backlog()
        # Each sample: when, the committed offsets, and the groups that owed work then.
        self._history: deque[tuple[float, dict[Key, int], frozenset[str]]] = deque()
        self._idle_since: dict[Key, float] = {}
        self._partition_counts: dict[str, int] = {}
        self._counts_read_at = -math.inf
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sample now and every `interval` seconds, in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="backlog", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_TIMEOUT)
        if self._reader is not None:
            self._reader.close()

    def snapshot(self) -> Backlog:
        """The latest backlog (empty before the first successful sample; stale if old)."""
        with self._lock:
            backlog = self._snapshot
        if backlog.taken_at and time.monotonic() - backlog.taken_at > 3 * self._interval:
            return replace(backlog, stale=True)
        return backlog

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def sample(self) -> Backlog:
        """One synchronous round; on error, log once per streak and keep the last snapshot."""
        try:
            offsets = self._read_offsets()
        except Exception as error:  # broker down, group coordinator moving, timeouts
            if not self._failing:
                log.warning("backlog sampling failed (admitting while it fails): %s", error)
            self._failing = True
            return self.snapshot()
        if self._failing:
            log.info("backlog sampling recovered")
        self._failing = False
        backlog = self._record(time.monotonic(), offsets)
        BACKLOG_MESSAGES.set(backlog.messages)
        BACKLOG_SECONDS.set(backlog.seconds_to_drain)
        with self._lock:
            self._snapshot = backlog
        return backlog

    def _record(self, now: float, offsets: dict[Key, tuple[int, int]]) -> Backlog:
        """Fold one round of (committed, end) offsets into the history and a new backlog."""
        committed = {key: c for key, (c, _) in offsets.items()}
        previous = self._history[-1][1] if self._history else {}
        offsets = {
            key: (c, c if previous.get(key) == c and self._empty_tail(key, c, end) else end)
            for key, (c, end) in offsets.items()
        }
        for key, (position, end) in offsets.items():
            if key not in self._idle_since or previous.get(key) != position or end <= position:
                self._idle_since[key] = now
        owing = frozenset(key[0] for key, (position, end) in offsets.items() if end > position)
        self._history.append((now, committed, owing))
        # Keep the newest sample at least a window old as the base of the rate.
        while len(self._history) > 1 and self._history[1][0] <= now - self._window:
            self._history.popleft()
        elapsed = now - self._history[0][0]
        # Each partition counts from its oldest offset in the window: a partition a group
        # commits for the first time (a new deployment, new topics) drains from then on, not
        # only once the window has slid past its first commit (for 10 s it drained "nothing"
        # while its group worked, and the door refused with its longest Retry-After).
        base: dict[Key, int] = {}
        for _, offsets_then, _ in self._history:
            for key, c in offsets_then.items():
                base.setdefault(key, c)
        drained: dict[str, int] = {group: 0 for group in self._groups}
        for key, c in committed.items():
            drained[key[0]] = drained.get(key[0], 0) + max(0, c - base[key])
        # A rate needs a few samples since the monitor started (`rate_known`), but a group's
        # own rate counts from its first busy interval: a busy second counted as three made
        # the door refuse the first second of a load far below capacity after a quiet spell.
        measured = min(self._window, RATE_SAMPLES * self._interval)
        shortest = min(elapsed, self._interval)
        busy = self._busy_seconds()
        spans = {g: max(busy.get(g, 0.0), shortest) for g in drained}
        rates = {g: n / spans[g] if spans[g] > 0 else 0.0 for g, n in drained.items()}
        partitions = tuple(
            PartitionBacklog(*key, position, end, self._idle_since[key])
            for key, (position, end) in sorted(offsets.items())
        )
        return Backlog(
            messages=sum(p.lag for p in partitions),
            drain_rate=sum(rates.values()),
            taken_at=now,
            partitions=partitions,
            # A few samples, not a full window: a burst right after the API starts must meet
            # a door that measures (it admitted everything for the window's first 10 s).
            rate_known=elapsed >= measured,
            group_rates=rates,
        )

    def _busy_seconds(self) -> dict[str, float]:
        """How long, within the window, each group had work: it owed messages when an
        interval began, or its offsets moved during it. A group's rate is what it drains
        while busy: a window that began idle (load just started) would otherwise show a
        fraction of its speed, and the door would refuse a load far below capacity."""
        busy: dict[str, float] = {}
        for (start, before, owed), (end, after, _) in pairwise(self._history):
            moved = {key[0] for key, c in after.items() if before.get(key, c) != c}
            for group in owed | moved:
                busy[group] = busy.get(group, 0.0) + end - start
        return busy

    def _empty_tail(self, key: Key, start: int, end: int) -> bool:
        """Whether [start, end) of an idle partition holds no committed record (markers,
        aborted records); remembered until the offsets change. Unsure: False (it is work)."""
        if self._reader is None or end <= start:
            return False
        _, topic, partition = key
        cached = self._tails.get((topic, partition))
        if cached is not None and cached[:2] == (start, end):
            return cached[2]
        empty = False
        self._reader.assign([TopicPartition(topic, partition, start)])
        try:
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                message = self._reader.poll(0.2)
                if message is None:
                    continue
                error = message.error()
                if error is None:  # a record: work, unless it arrived past the sampled end
                    empty = (message.offset() or 0) >= end
                    break
                if error.code() == KafkaError._PARTITION_EOF:
                    empty = True
                    break
        finally:
            self._reader.unassign()
        self._tails[(topic, partition)] = (start, end, empty)
        return empty

    def _read_offsets(self) -> dict[Key, tuple[int, int]]:
        """(committed, end) of every partition each group owes."""
        owed: dict[Key, int | None] = {}  # None: never committed
        for group, topics in self._groups.items():
            request = [ConsumerGroupTopicPartitions(group)]
            futures = self._admin.list_consumer_group_offsets(request, request_timeout=_TIMEOUT)
            listed = futures[group].result(_TIMEOUT).topic_partitions or []
            found = {(tp.topic, tp.partition): tp.offset for tp in listed if tp.offset >= 0}
            if topics is None:
                owed.update({(group, t, p): offset for (t, p), offset in found.items()})
                continue
            for topic, count in self._partitions(topics).items():
                for partition in range(count):
                    owed[(group, topic, partition)] = found.get((topic, partition))
        wanted = {(t, p) for _, t, p in owed}
        ends = self._list_offsets(wanted, OffsetSpec.latest())
        unstarted = {(t, p) for (_, t, p), offset in owed.items() if offset is None}
        starts = self._list_offsets(unstarted, OffsetSpec.earliest()) if unstarted else {}
        return {
            key: (starts[key[1:]] if offset is None else offset, ends[key[1:]])
            for key, offset in owed.items()
        }

    def _partitions(self, topics: Iterable[str]) -> dict[str, int]:
        """Partition counts of `topics` (those that exist), re-read every `_METADATA_TTL`."""
        topics = list(topics)
        now = time.monotonic()
        if now - self._counts_read_at > _METADATA_TTL or not set(topics) <= set(
            self._partition_counts
        ):
            metadata = self._admin.list_topics(timeout=_TIMEOUT).topics
            self._partition_counts = {
                name: len(topic.partitions)
                for name, topic in metadata.items()
                if topic.error is None
            }
            self._counts_read_at = now
        return {t: self._partition_counts[t] for t in topics if t in self._partition_counts}

    def _list_offsets(
        self, partitions: set[tuple[str, int]], spec: OffsetSpec
    ) -> dict[tuple[str, int], int]:
        if not partitions:
            return {}
        futures = self._admin.list_offsets(
            {TopicPartition(t, p): spec for t, p in partitions},
            isolation_level=IsolationLevel.READ_COMMITTED,  # markers and open txns aren't work
            request_timeout=_TIMEOUT,
        )
        return {(tp.topic, tp.partition): f.result(_TIMEOUT).offset for tp, f in futures.items()}
