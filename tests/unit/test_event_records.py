"""The event record factory: the exact bytes of a record, and caches that never leak values."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from contexts.sales.order.events import EVENT_CLASSES, OrderConfirmed, OrderItem, OrderPlaced
from eventstore.codec import SingleObjectCodec
from eventstore.mapper import EventMapper, to_plain
from eventstore.outgoing import EventRecordFactory, MillisecondClock, Stream, random_event_id
from eventstore.schemas import SchemaRepository
from skald.settings import REPO_ROOT

EVENT_ID = "6f1c2b9e-3f4a-4c1d-9b2e-0a1b2c3d4e5f"
NOW = datetime(2026, 11, 30, 17, 0, 0, 123_456, tzinfo=UTC)
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
PLACED = OrderPlaced(
    "o-1",
    "c-1",
    (OrderItem("SKU-1", "Beans", 2, 1250), OrderItem("SKU-2", "Mug", 1, 900)),
    3400,
    datetime(2026, 11, 27, 9, 30, 1, 250_000, tzinfo=UTC),
)
STREAM = Stream("sales.order.events", "order", "o-1")
# Written by the factory before it cached anything (commit 3ca759f): the cache changes no byte.
GOLDEN_VALUE = bytes.fromhex(
    "c3011808291c0df04294066f2d3106632d31040a534b552d310a4265616e7304c4130a534b552d32064d"
    "756702880e009035c4fab8c5c36806455552"
)
GOLDEN_HEADERS = [
    ("ce_specversion", b"1.0"),
    ("ce_id", EVENT_ID.encode()),
    ("ce_type", b"sales.order.OrderPlaced"),
    ("ce_source", b"skald"),
    ("ce_time", b"2026-11-30T17:00:00.123+00:00"),
    ("ce_subject", b"o-1"),
    ("ce_dataschema", b"avro:sales.order.OrderPlaced/v2"),
    ("ce_aggregatetype", b"order"),
    ("ce_aggregateversion", b"7"),
    ("ce_correlationid", b"corr-1"),
    ("ce_causationid", b"caus-1"),
    ("content-type", b"application/avro"),
    ("traceparent", TRACEPARENT.encode()),
]


@pytest.fixture(scope="module")
def codec() -> SingleObjectCodec:
    return SingleObjectCodec(SchemaRepository.from_directory(REPO_ROOT / "schemas"))


@pytest.fixture
def factory(codec: SingleObjectCodec) -> EventRecordFactory:
    return EventRecordFactory(
        codec, EventMapper(EVENT_CLASSES), "skald", new_id=lambda: EVENT_ID, clock=lambda: NOW
    )


def test_a_record_is_byte_for_byte_the_golden_one(factory: EventRecordFactory) -> None:
    for _ in range(2):  # the second build comes from the caches
        record = factory.build(STREAM, PLACED, 7, "corr-1", "caus-1", TRACEPARENT)
        assert record.key == b"o-1"
        assert record.value == GOLDEN_VALUE
        assert record.headers == GOLDEN_HEADERS
        assert record.headers == record.envelope.to_headers()


def test_without_a_traceparent_the_other_twelve_headers_stay(
    factory: EventRecordFactory,
) -> None:
    record = factory.build(STREAM, PLACED, 7, "corr-1", "caus-1")
    assert record.headers == GOLDEN_HEADERS[:-1]


def test_the_value_is_what_the_uncached_codec_writes(
    factory: EventRecordFactory, codec: SingleObjectCodec
) -> None:
    schemas = SchemaRepository.from_directory(REPO_ROOT / "schemas")
    for event in (PLACED, OrderConfirmed("o-1", NOW)):
        record = factory.build(STREAM, event, 2, "corr-1", "caus-1")
        schema = schemas.latest(record.envelope.event_type)
        assert record.value == codec.encode_as(schema, to_plain(event)).payload


def test_cached_headers_never_carry_another_stream_or_type(factory: EventRecordFactory) -> None:
    factory.build(STREAM, PLACED, 7, "corr-1", "caus-1")
    other = factory.build(
        Stream("sales.order.events", "order", "o-2"), OrderConfirmed("o-2", NOW), 3, "x", "y"
    )
    headers = dict(other.headers)
    assert other.key == b"o-2"
    assert headers["ce_subject"] == b"o-2"
    assert headers["ce_type"] == b"sales.order.OrderConfirmed"
    assert headers["ce_dataschema"] == b"avro:sales.order.OrderConfirmed/v2"
    assert headers["ce_aggregateversion"] == b"3"
    assert (headers["ce_correlationid"], headers["ce_causationid"]) == (b"x", b"y")


def test_the_time_header_follows_each_envelope_time(codec: SingleObjectCodec) -> None:
    """The template remembers the last time it formatted: a new time, or an equal one that
    is another object, is never answered with a stale text."""
    times = [NOW, NOW, NOW + timedelta(milliseconds=1), NOW.replace(), datetime(2026, 1, 2)]
    now = iter(times)
    factory = EventRecordFactory(
        codec, EventMapper(EVENT_CLASSES), "skald", clock=lambda: next(now)
    )
    for when in times:
        record = factory.build(STREAM, PLACED, 7, "corr-1", "caus-1")
        text = when.astimezone(UTC).isoformat(timespec="milliseconds")
        assert dict(record.headers)["ce_time"] == text.encode()


def test_the_default_clock_is_utc_to_the_millisecond_and_moves_on() -> None:
    clock = MillisecondClock()
    first = clock()
    assert first.tzinfo is UTC and first.microsecond % 1000 == 0
    assert abs(datetime.now(UTC) - first) < timedelta(seconds=1)
    later = first
    while later == first:
        later = clock()
    assert later > first  # a new millisecond, a new time


def test_event_ids_are_random_version_4_uuids() -> None:
    ids = {random_event_id() for _ in range(1000)}  # several blocks of random bytes
    assert len(ids) == 1000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text


@dataclass(frozen=True)
class _Line:
    sku: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class _Basket:
    owner: str | None
    lines: tuple[_Line, ...]
    extra: dict[str, _Line]
    note: Unresolvable  # type: ignore[name-defined]  # noqa: F821


def test_the_compiled_mapping_matches_the_generic_rules() -> None:
    basket = _Basket("c-1", (_Line("S", ("a", "b")),), {"k": _Line("T", ())}, _Line("U", ()))
    assert to_plain(basket) == {
        "owner": "c-1",
        "lines": [{"sku": "S", "tags": ["a", "b"]}],
        "extra": {"k": {"sku": "T", "tags": []}},
        "note": {"sku": "U", "tags": []},
    }


def test_a_forked_child_never_hands_out_its_parents_ids() -> None:
    random_event_id()  # the parent holds a block of ids
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its next id and leave at once
        os.write(writer, random_event_id().encode())
        os._exit(0)
    os.close(writer)
    child = os.read(reader, 64).decode()
    os.waitpid(pid, 0)
    os.close(reader)
    parents = {random_event_id() for _ in range(256)}
    assert child and child not in parents
