"""Stopping an aiokafka consumer whole, even when a lost connection's fetch was backing off.

`AIOKafkaConsumer.stop()` cancels each pending fetch and awaits it. A fetch that failed on a
closed connection sleeps `retry_backoff` before it returns, and cancelled in that sleep it
re-raises the cancellation out of `stop()` (aiokafka issue 647, still in 0.14). That leaves
the client's connections open, and in a Faust worker it skips the rest of the consumer
thread's shutdown, so the worker's stop waits out mode's 60 s shutdown timeout. MSK ends
sessions when their tokens expire, and brokers stall: connections close, so it happens.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer

log = logging.getLogger(__name__)


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """`consumer.stop()`; a cancellation it re-raises that was not this task's own closes the
    client's connections, which the stop did not reach, and is not passed on."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # this task itself is being cancelled
        log.warning("a fetch cancelled while backing off broke the consumer's stop; closing")
        await consumer._client.close()
