"""Garbage-collector settings for the command processor: the long-lived heap is never walked.

Everything the processor holds between transactions is long-lived: the modules and clients
built at start, and each owned partition's hosted aggregates and outcome index, restored on
assignment. CPython's oldest-generation collection walks all of it, on the loop thread,
while commands wait: measured in the command benchmark at 500 commands/s, one such
collection of 248 ms in 15 s, which alone put ~1% of the commands past 100 ms. Commands,
events and replies are acyclic and freed by reference counting when their transaction ends;
the collector only has to find the rare cycle among what was made since.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    """Collect once, then move every object that exists into the permanent generation, which
    no collection walks. Call it where the processor has just built what it keeps: after an
    assignment's restore (a pause there already). Objects frozen stay freed by reference
    counting when dropped (a revoked partition's state); only a cycle among them would stay,
    and the collection before the freeze leaves none behind.
    """
    gc.collect()
    gc.freeze()
