"""Which generation a sink writes to: one it is pinned to, or the live one it follows."""

from __future__ import annotations

from collections.abc import Callable

from projections.model import GenerationMoved


class GenerationTracker:
    """The generation bookkeeping both sinks share, given how to read the live generation.

    A pinned tracker (a replay's) always answers its generation. A following one remembers
    the live generation it last wrote to, and `writing` raises GenerationMoved once when a
    swap made another one live, so the projector repositions before writing again.
    """

    def __init__(
        self, projection: str, read_live: Callable[[], int], pinned: int | None = None
    ) -> None:
        self._projection = projection
        self._read_live = read_live
        self.pinned = pinned
        self._following: int | None = None  # the live generation we last wrote to

    def current(self) -> int:
        """The generation writes go to now (the live one at first use, when following)."""
        if self.pinned is not None:
            return self.pinned
        if self._following is None:
            self._following = self._read_live()
        return self._following

    def refresh(self) -> int:
        """The generation to read a newly assigned partition's offsets from: the live one.

        It does not start following a generation that a swap made live since our last
        write: the partitions we already own are positioned for the old one, so the next
        `writing` must still raise GenerationMoved and reposition all of them. (Following it
        here let a cooperative rebalance after a swap carry an owned partition on from the
        old generation's position, past the new generation's checkpoint.)
        """
        if self.pinned is not None:
            return self.pinned
        live = self._read_live()
        if self._following is None:
            self._following = live
        return live

    def writing(self, read_live: Callable[[], int] | None = None) -> int:
        """The generation a batch writes to; raises GenerationMoved if a swap happened.

        `read_live` overrides how to read the live generation for this batch (PostgreSQL
        reads it under a share lock in the batch's own transaction).
        """
        if self.pinned is not None:
            return self.pinned
        live = (read_live or self._read_live)()
        moved = self._following is not None and live != self._following
        self._following = live
        if moved:
            raise GenerationMoved(f"{self._projection}: generation {live} is live now")
        return live

    def redrive_target(self) -> int:
        """Where a one-off redrive writes: the pinned generation, else the live one now."""
        return self.pinned if self.pinned is not None else self._read_live()
