"""The CloudEvents envelope and the consistency token."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventstore.envelope import Envelope, EnvelopeError, header_value
from eventstore.position import InvalidPosition, Position

ENVELOPE = Envelope(
    event_id="e-1",
    event_type="sales.order.OrderPlaced",
    source="skald/api",
    time=datetime(2026, 11, 27, 9, 30, 0, 123_000, tzinfo=UTC),
    aggregate_type="order",
    aggregate_id="o-1",
    aggregate_version=3,
    schema_version=1,
    correlation_id="corr-1",
    causation_id="cause-1",
    traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
)


def test_headers_round_trip() -> None:
    assert Envelope.from_headers(ENVELOPE.to_headers()) == ENVELOPE


def test_headers_follow_the_cloudevents_kafka_binding() -> None:
    headers = dict(ENVELOPE.to_headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_subject"] == b"o-1"
    assert headers["ce_type"] == b"sales.order.OrderPlaced"
    assert header_value(ENVELOPE.to_headers(), "ce_aggregateversion") == "3"


def test_missing_headers_are_named() -> None:
    headers = [h for h in ENVELOPE.to_headers() if h[0] != "ce_subject"]
    with pytest.raises(EnvelopeError, match="ce_subject"):
        Envelope.from_headers(headers)


def test_position_tokens_round_trip_and_reject_garbage() -> None:
    position = Position("sales.order.events", 2, 41)
    assert Position.from_token(position.token()) == position
    with pytest.raises(InvalidPosition):
        Position.from_token("not-a-token")


def test_headers_parse_from_a_mapping_of_text_too() -> None:
    headers = {
        name: value.decode() if isinstance(value, bytes) else value or ""
        for name, value in ENVELOPE.to_headers()
    }
    assert Envelope.from_headers(headers) == ENVELOPE


def test_without_a_traceparent_header_there_is_none() -> None:
    headers = [h for h in ENVELOPE.to_headers() if h[0] != "traceparent"]
    assert Envelope.from_headers(headers).traceparent is None


@pytest.mark.parametrize(
    ("name", "value"),
    [("ce_aggregateversion", b"three"), ("ce_time", b"yesterday"), ("ce_dataschema", b"avro:x")],
)
def test_malformed_headers_are_an_envelope_error(name: str, value: bytes) -> None:
    headers = [(n, value if n == name else v) for n, v in ENVELOPE.to_headers()]
    with pytest.raises(EnvelopeError, match="malformed"):
        Envelope.from_headers(headers)


def test_bytes_that_are_not_utf8_decode_with_replacement_like_the_rest() -> None:
    headers = [(n, b"skald/\xff" if n == "ce_source" else v) for n, v in ENVELOPE.to_headers()]
    assert Envelope.from_headers(headers).source == "skald/\ufffd"
    assert Envelope.from_headers(headers).aggregate_version == 3


def test_a_null_header_value_reads_as_empty_text() -> None:
    headers = [(n, None if n == "ce_causationid" else v) for n, v in ENVELOPE.to_headers()]
    assert Envelope.from_headers(headers).causation_id == ""
