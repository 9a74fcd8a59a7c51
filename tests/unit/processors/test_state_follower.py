"""Which follower failures are routine (a rebalance refused the commit) and which are not."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

from processors.state_follower import _rebalanced


def test_a_commit_refused_by_a_rebalance_is_routine() -> None:
    assert _rebalanced(KafkaException(KafkaError(KafkaError.ILLEGAL_GENERATION)))
    assert _rebalanced(KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS)))


def test_other_failures_are_not() -> None:
    assert not _rebalanced(KafkaException(KafkaError(KafkaError._TRANSPORT)))
    assert not _rebalanced(ValueError("a row that does not fit"))
