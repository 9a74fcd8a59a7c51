"""given / when / then for pure deciders: `given(events).when(command).then(events)`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, Generic, TypeVar

import pytest

S = TypeVar("S")


@dataclass(frozen=True)
class Decider(Generic[S]):
    """The three parts of a decider, bundled for tests."""

    initial: S
    evolve: Callable[[S, Any], S]
    decide: Callable[[S, Any], list[Any]]


@dataclass(frozen=True)
class _When(Generic[S]):
    decider: Decider[S]
    state: S
    command: Any

    def then(self, expected: Sequence[Any]) -> None:
        assert self.decider.decide(self.state, self.command) == list(expected)

    def raises(self, error: type[Exception], match: str | None = None) -> None:
        with pytest.raises(error, match=match):
            self.decider.decide(self.state, self.command)


@dataclass(frozen=True)
class _Given(Generic[S]):
    decider: Decider[S]
    events: Sequence[Any]

    def when(self, command: Any) -> _When[S]:
        state = reduce(self.decider.evolve, self.events, self.decider.initial)
        return _When(self.decider, state, command)


def spec(decider: Decider[S]) -> Callable[[Sequence[Any]], _Given[S]]:
    """A `given` bound to one decider."""
    return lambda events: _Given(decider, events)
