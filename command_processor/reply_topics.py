"""Which topics a reply may go to: those the cluster has.

A command names its reply topic in a header written by whoever produced it. Producing to a
topic the cluster lacks (auto-create is off on MSK, and locally) is not refused at once:
librdkafka holds the record until the transaction times out, the transaction aborts and the
same command comes back, so one record naming a missing topic would stop its partition for
good. A reply to a missing topic is dropped instead, as one to an invalid name is: nobody
reads there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from producers.messages import is_topic_name

log = logging.getLogger(__name__)

# A topic found missing is asked about again after this long (it may have been created
# since): one metadata request per missing name per interval, however many commands name it.
RECHECK_MISSING_AFTER = 30.0
# Missing names remembered at most, so garbage can't grow the map without bound.
MISSING_REMEMBERED = 1024


class ReplyTopics:
    """Remembers which reply topics exist; asks `exists` (a metadata request) about the rest.

    `exists` raises when it can't tell (the broker is unreachable): the transaction then
    fails and is retried, instead of a reply being dropped on a guess.
    """

    def __init__(
        self,
        exists: Callable[[str], bool],
        recheck_missing_after: float = RECHECK_MISSING_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._exists = exists
        self._recheck_missing_after = recheck_missing_after
        self._clock = clock
        self._present: set[str] = set()  # topics are seldom deleted; bounded by the cluster's
        self._missing: dict[str, float] = {}  # name -> when it was found missing

    def reachable(self, topic: str) -> bool:
        """Whether a reply to `topic` can be delivered."""
        if topic in self._present:
            return True
        if not is_topic_name(topic):
            return False
        now = self._clock()
        found_missing = self._missing.get(topic)
        if found_missing is not None and now - found_missing < self._recheck_missing_after:
            return False
        if self._exists(topic):
            self._present.add(topic)
            self._missing.pop(topic, None)
            return True
        if len(self._missing) >= MISSING_REMEMBERED:
            self._missing.clear()
        self._missing[topic] = now
        log.warning("replies to %r are dropped: the cluster has no such topic", topic)
        return False
