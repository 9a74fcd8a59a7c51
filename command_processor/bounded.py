"""A blocking client call with a hard deadline, for the librdkafka calls that can wait without one.

`send_offsets_to_transaction` waits for its TxnOffsetCommit with no bound when the group
coordinator dies under it: librdkafka never checks a coordinator request's timeout
(confluentinc/librdkafka#5456), and a coordinator dropped from the cluster's metadata never
wakes the request again (#5511), so the caller blocks until some broker connection goes up
or down, which with a node gone for good may be never. The call runs on a helper thread
instead; past the deadline the caller gets `CallHung` and the helper is left to finish on
its own. It holds the client it blocks in until then, so that client is never destroyed
under a running call (its last reference goes when the call returns, on the helper thread).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_Request = tuple[Callable[[], Any], "Future[Any]"]


class CallHung(Exception):
    """The call did not return in time; it goes on running on its own thread."""


class BoundedCaller:
    """Runs calls one at a time on its own daemon thread, each with a deadline.

    Once a call has hung the caller takes no more: its thread ends when that call returns.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.hung = False

    def call(self, function: Callable[[], T], seconds: float) -> T:
        """`function()`'s result or exception; `CallHung` if it takes more than `seconds`."""
        if self.hung:
            raise CallHung(f"{self._name}: an earlier call is still running")
        if self._thread is None:
            self._thread = threading.Thread(
                target=_serve, args=(self._requests,), name=self._name, daemon=True
            )
            self._thread.start()
        future: Future[T] = Future()
        self._requests.put((function, future))
        try:
            return future.result(timeout=seconds)
        except TimeoutError:
            if future.done():  # it returned just now: not a hang
                return future.result()
            self.hung = True
            self._requests.put(None)  # the thread ends once the hung call returns
            raise CallHung(f"{self._name}: no answer after {seconds:.1f} s") from None

    def close(self) -> None:
        """Let the thread end (after the call it runs, if any)."""
        if self._thread is not None and not self.hung:
            self._requests.put(None)


def _serve(requests: queue.SimpleQueue[_Request | None]) -> None:
    while (request := requests.get()) is not None:
        function, future = request
        try:
            future.set_result(function())
        except BaseException as error:  # handed to the caller, whatever it is
            future.set_exception(error)
        # Drop the call (and the client it is bound to) before waiting for the next one.
        del request, function, future
