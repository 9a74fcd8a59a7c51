"""A call with a hard deadline: its result or error in time, or `CallHung` and the call left to
finish on its own thread (holding what it is bound to until then)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from command_processor.bounded import BoundedCaller, CallHung


def test_a_prompt_call_returns_its_result_or_raises_its_error() -> None:
    caller = BoundedCaller("test")
    assert caller.call(lambda: 42, 5.0) == 42
    with pytest.raises(KeyError):
        caller.call(_raise_key_error, 5.0)
    with pytest.raises(TimeoutError):  # the call's own TimeoutError is not a hang
        caller.call(_raise_timeout, 5.0)
    assert not caller.hung
    caller.close()


def _raise_key_error() -> None:
    raise KeyError("missing")


def _raise_timeout() -> None:
    raise TimeoutError("the call's own")


class Client:
    """Stands for a librdkafka client blocked inside a call."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def blocking_call(self) -> str:
        self.release.wait(30)
        return "late"


def test_a_call_past_its_deadline_is_left_running_with_its_client() -> None:
    caller = BoundedCaller("test")
    client = Client()
    release = client.release
    alive = weakref.ref(client)
    with pytest.raises(CallHung):
        caller.call(client.blocking_call, 0.2)
    assert caller.hung
    with pytest.raises(CallHung):  # no second call behind a hung one
        caller.call(lambda: 1, 0.2)

    del client
    gc.collect()
    assert alive() is not None, "the client was released under its running call"
    helper = next(t for t in threading.enumerate() if t.name == "test" and t.is_alive())
    release.set()
    helper.join(5)
    assert not helper.is_alive(), "the helper thread outlived its hung call"
    gc.collect()
    assert alive() is None, "the helper kept the client after the call returned"
