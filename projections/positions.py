"""Where a topic's partitions start and end, and `--from` positions parsed against them."""

from __future__ import annotations

from datetime import datetime

from confluent_kafka import Consumer, TopicPartition

from projections.model import PartitionKey


class BadStartPosition(ValueError):
    """A `--from` value that is not 0 (earliest), an ISO-8601 time or P:O pairs."""


BEGINNING = ("0", "earliest")


def partitions(reader: Consumer, topics: list[str]) -> list[PartitionKey]:
    """Every partition of the topics; a missing topic is an error."""
    found: list[PartitionKey] = []
    for topic in topics:
        metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise LookupError(f"topic {topic} does not exist")
        found += [(topic, p) for p in sorted(metadata.partitions)]
    return found


def watermarks(reader: Consumer, keys: list[PartitionKey]) -> dict[PartitionKey, tuple[int, int]]:
    """(low, high) offsets of each partition."""
    return {key: reader.get_watermark_offsets(TopicPartition(*key), timeout=10) for key in keys}


def start_offsets(reader: Consumer, topics: list[str], text: str) -> dict[PartitionKey, int]:
    """The offsets `--from` means, per partition of the topics:

    - `0` or `earliest`: the partition's first retained offset (a rebuild from scratch);
    - an ISO-8601 time with a zone: the first record at or after it (the end if none);
    - `P:O[,P:O...]`: offset O of partition P of every topic; unnamed partitions start at
      their first retained offset. An offset past the partition's end is refused.
    """
    keys = partitions(reader, topics)
    marks = watermarks(reader, keys)
    earliest = {key: low for key, (low, _high) in marks.items()}
    if text in BEGINNING:
        return earliest
    if ":" in text and "T" not in text and "-" not in text:
        return {**earliest, **_explicit(text, topics, marks)}
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadStartPosition(
            f"--from {text!r}: expected 0 (the beginning), an ISO-8601 time with a zone"
            " or PARTITION:OFFSET[,PARTITION:OFFSET...]"
        ) from None
    if moment.tzinfo is None:
        raise BadStartPosition(f"--from {text!r}: give a time zone, e.g. {text}+00:00")
    millis = int(moment.timestamp() * 1000)
    found = reader.offsets_for_times([TopicPartition(t, p, millis) for t, p in keys], timeout=10)
    # -1: no event at or after the time, so start at the end.
    return {
        (tp.topic, tp.partition): tp.offset
        if tp.offset >= 0
        else marks[(tp.topic, tp.partition)][1]
        for tp in found
    }


def _explicit(
    text: str, topics: list[str], marks: dict[PartitionKey, tuple[int, int]]
) -> dict[PartitionKey, int]:
    keys = list(marks)
    chosen: dict[PartitionKey, int] = {}
    for pair in text.split(","):
        try:
            partition, offset = (int(part) for part in pair.split(":"))
        except ValueError:
            raise BadStartPosition(f"--from: {pair!r} is not PARTITION:OFFSET") from None
        if offset < 0:
            raise BadStartPosition(f"--from: offset {offset} is negative")
        matching = [(t, p) for t, p in keys if p == partition]
        if not matching:
            raise BadStartPosition(f"--from: partition {partition} not in {', '.join(topics)}")
        for key in matching:
            low, high = marks[key]
            if offset > high:
                raise BadStartPosition(
                    f"--from: {key[0]}[{partition}] ends at offset {high}; {offset} is past it"
                )
            chosen[key] = max(offset, low)  # below the first retained offset: from there
    return chosen
