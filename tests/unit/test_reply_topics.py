"""Replies go only to topics that exist; a missing one is asked about again after a while."""

from __future__ import annotations

from command_processor.reply_topics import MISSING_REMEMBERED, ReplyTopics


class Cluster:
    def __init__(self, *topics: str) -> None:
        self.topics = set(topics)
        self.asked: list[str] = []

    def exists(self, topic: str) -> bool:
        self.asked.append(topic)
        return topic in self.topics


def test_an_existing_topic_is_reachable_and_asked_about_once() -> None:
    cluster = Cluster("replies")
    topics = ReplyTopics(cluster.exists)
    assert topics.reachable("replies") and topics.reachable("replies")
    assert cluster.asked == ["replies"]


def test_a_missing_topic_is_unreachable_until_it_is_asked_about_again() -> None:
    now = [0.0]
    cluster = Cluster()
    topics = ReplyTopics(cluster.exists, recheck_missing_after=30.0, clock=lambda: now[0])
    assert not topics.reachable("skald.replies")
    now[0] = 29.0
    assert not topics.reachable("skald.replies")
    assert cluster.asked == ["skald.replies"]  # one metadata request, however many commands
    cluster.topics.add("skald.replies")  # created since
    now[0] = 31.0
    assert topics.reachable("skald.replies")
    assert cluster.asked == ["skald.replies", "skald.replies"]


def test_an_invalid_name_is_unreachable_without_asking() -> None:
    cluster = Cluster()
    assert not ReplyTopics(cluster.exists).reachable("not a topic!")
    assert cluster.asked == []


def test_missing_names_are_remembered_within_a_bound() -> None:
    cluster = Cluster()
    topics = ReplyTopics(cluster.exists)
    for n in range(MISSING_REMEMBERED + 10):
        assert not topics.reachable(f"garbage-{n}")
    assert len(topics._missing) <= MISSING_REMEMBERED
