"""Read-your-writes: a query waits (bounded) until its read model has applied a position.

The position is the opaque token a command returned (`X-Skald-Position`). The wait polls
the checkpoint of the live generation, so it stays right across a replay's swap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Annotated, Any

from fastapi import Header, HTTPException

from eventstore.position import InvalidPosition, Position
from producers.errors import Problem
from producers.validation import INT8_MAX
from projections.model import Sink

POSITION_HEADER = "X-Skald-Position"

# What a route with read-your-writes may answer besides its own (merge into `responses`).
CONSISTENCY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": f"{POSITION_HEADER} is not a position of this model"},
    504: {"model": Problem, "description": f"The model did not reach {POSITION_HEADER} in time"},
}

# The partition count of a topic, or None when it does not exist.
PartitionCount = Callable[[str], int | None]


class NotCaughtUp(Exception):
    """The read model did not reach the position within the timeout."""


def wait_until_applied(
    sink: Sink, position: Position, timeout: float, poll_seconds: float = 0.02
) -> None:
    """Return once the sink's checkpoint for the position's partition is past it, and what
    it applied is visible to queries."""
    key = (position.topic, position.partition)
    deadline = time.monotonic() + timeout
    while True:
        if sink.stored_offsets([key]).get(key, 0) > position.offset:
            sink.make_visible()
            return
        if time.monotonic() >= deadline:
            raise NotCaughtUp(
                f"read model {sink.projection_name} has not reached {position.topic}"
                f"[{position.partition}]@{position.offset} within {timeout:g} s; retry later"
            )
        time.sleep(poll_seconds)


def consistent_with(
    sink: Sink, topics: Collection[str], timeout: float, partitions: PartitionCount
) -> Callable[[str | None], None]:
    """A FastAPI dependency: 400 for a bad token, 504 when the wait times out.

    A token naming a partition the topic doesn't have is refused at once: no wait could
    ever see it applied."""

    def dependency(
        x_skald_position: Annotated[
            str | None,
            Header(
                alias=POSITION_HEADER,
                description="Consistency token from a command: wait until the read model "
                "has applied it",
            ),
        ] = None,
    ) -> None:
        if not x_skald_position:
            return
        try:
            position = Position.from_token(x_skald_position)
        except InvalidPosition as error:
            raise HTTPException(status_code=400, detail=f"{POSITION_HEADER}: {error}") from None
        if position.topic not in topics:
            raise HTTPException(
                status_code=400,
                detail=f"{POSITION_HEADER} points into {position.topic}; "
                f"read model {sink.projection_name} reads {', '.join(sorted(topics))}",
            )
        count = partitions(position.topic)
        beyond = count is not None and position.partition >= count  # unknown count: wait
        if beyond or position.partition < 0 or not 0 <= position.offset <= INT8_MAX:
            raise HTTPException(
                status_code=400,
                detail=f"{POSITION_HEADER} names {position.topic}[{position.partition}]"
                f"@{position.offset}, which the log does not have",
            )
        try:
            wait_until_applied(sink, position, timeout)
        except NotCaughtUp as error:
            raise HTTPException(status_code=504, detail=str(error)) from None

    return dependency
