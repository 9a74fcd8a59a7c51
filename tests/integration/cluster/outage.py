"""Timings of an outage as the clients saw it, for the test's report and its bounds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tests.integration.cluster.restocks import ACCEPTED, Restock, statuses


@dataclass(frozen=True, slots=True)
class Outage:
    """What the load saw from the fault on: answers, refusals, and when writes came back."""

    sent: int
    acknowledged_first_time: int
    answers: Counter[int]
    recovered_after: float | None  # seconds from the fault to the first later-sent 2xx

    def line(self, name: str) -> str:
        recovered = "never" if self.recovered_after is None else f"{self.recovered_after:.1f} s"
        return (
            f"[{name}] commands sent {self.sent}, acknowledged at first answer "
            f"{self.acknowledged_first_time}, answers {dict(sorted(self.answers.items()))}, "
            f"writes back {recovered} after the fault"
        )


def outage(commands: list[Restock], fault_at: float, partition: int | None = None) -> Outage:
    """Recovery is the first acknowledgement of a command sent after the fault (on one
    partition, if given: the others may never have stopped)."""
    later = [
        c.answers[0][0]
        for c in commands
        if c.sent_at > fault_at
        and c.answers
        and c.first in ACCEPTED
        and (partition is None or c.partition == partition)
    ]
    return Outage(
        sent=len(commands),
        acknowledged_first_time=sum(1 for c in commands if c.answers and c.first in ACCEPTED),
        answers=statuses(commands),
        recovered_after=(min(later) - fault_at) if later else None,
    )
