"""The Confluent wire-format codec: framing, id caching, resolution, and clean failures.

These run against confluent-kafka's in-memory `mock://` registry client and an unreachable
URL; no schema registry server could be installed here (see the integration test module).
"""

from __future__ import annotations

import io
import json
import socket
import struct
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastavro import parse_schema, schemaless_writer

from contexts.payments.payment.events import PaymentDeclined
from contexts.payments.payment.upcasters import UPCASTERS
from contexts.sales.order.events import OrderPlaced
from eventstore.codec import DecodeError
from eventstore.registry_codec import RegistryCodec, RegistryUnavailable
from eventstore.schemas import SchemaRepository
from eventstore.upcasting import Upcasters
from skald.settings import REPO_ROOT

SCHEMAS = SchemaRepository.from_directory(REPO_ROOT / "schemas")
AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
PLACED = {
    "order_id": "o-1",
    "customer_id": "c-1",
    "items": [{"sku": "SKU-1", "name": "Beans", "quantity": 2, "unit_price_cents": 1250}],
    "total_cents": 2500,
    "placed_at": AT,
    "currency": "SEK",
}


class CountingClient:
    """Wraps a registry client and counts the calls that reach it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def register_schema(self, subject: str, schema: Schema) -> int:
        self.calls.append(f"register {subject}")
        return int(self.inner.register_schema(subject, schema))

    def get_schema(self, schema_id: int) -> Schema:
        self.calls.append(f"get {schema_id}")
        return self.inner.get_schema(schema_id)


@pytest.fixture
def registry() -> Any:
    return SchemaRegistryClient.new_client({"url": "mock://skald-test"})


@pytest.fixture
def codec(registry: Any) -> RegistryCodec:
    return RegistryCodec(registry, SCHEMAS, Upcasters(UPCASTERS))


def test_the_frame_is_magic_byte_then_big_endian_schema_id(codec: RegistryCodec) -> None:
    encoded = codec.encode(OrderPlaced.EVENT_TYPE, PLACED)
    magic, schema_id = struct.unpack(">bI", encoded.payload[:5])
    assert magic == 0
    assert schema_id == codec.schema_id(SCHEMAS.latest(OrderPlaced.EVENT_TYPE))
    assert encoded.schema_version == 2


def test_an_event_survives_encode_and_decode(codec: RegistryCodec) -> None:
    encoded = codec.encode(OrderPlaced.EVENT_TYPE, PLACED)
    assert codec.decode(encoded.payload) == (OrderPlaced.EVENT_TYPE, PLACED)


def test_the_subject_is_the_record_full_name(codec: RegistryCodec, registry: Any) -> None:
    codec.encode(OrderPlaced.EVENT_TYPE, PLACED)
    assert registry.get_subjects() == [OrderPlaced.EVENT_TYPE]


def test_ids_are_cached_both_ways(registry: Any) -> None:
    client = CountingClient(registry)
    writer = RegistryCodec(client, SCHEMAS)  # type: ignore[arg-type]
    payloads = [writer.encode(OrderPlaced.EVENT_TYPE, PLACED).payload for _ in range(3)]
    assert client.calls == [f"register {OrderPlaced.EVENT_TYPE}"]
    reader = RegistryCodec(client, SCHEMAS)  # type: ignore[arg-type]
    for payload in payloads:
        reader.decode(payload)
    schema_id = struct.unpack(">I", payloads[0][1:5])[0]
    assert client.calls[1:] == [f"get {schema_id}"]


def frame(registry: Any, subject: str, raw_schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    """What a producer writing `raw_schema` puts on the wire."""
    schema_id = registry.register_schema(subject, Schema(json.dumps(raw_schema), "AVRO"))
    buffer = io.BytesIO()
    buffer.write(struct.pack(">bI", 0, schema_id))
    schemaless_writer(buffer, parse_schema(raw_schema), record)
    return buffer.getvalue()


def old_version(event_type: str, version: int) -> dict[str, Any]:
    return dict(json.loads(SCHEMAS.version(event_type, version).path.read_text()))


def test_old_versions_read_as_the_newest_with_defaults_and_upcasters(
    codec: RegistryCodec, registry: Any
) -> None:
    v1_placed = {k: v for k, v in PLACED.items() if k != "currency"}
    placed_v1 = old_version(OrderPlaced.EVENT_TYPE, 1)
    _type, placed = codec.decode(frame(registry, OrderPlaced.EVENT_TYPE, placed_v1, v1_placed))
    assert placed["currency"] == "EUR"
    v1_declined = {
        "order_id": "o-1",
        "amount_cents": 10,
        "reason": "card declined by issuer",
        "declined_at": AT,
    }
    declined_v1 = old_version(PaymentDeclined.EVENT_TYPE, 1)
    payload = frame(registry, PaymentDeclined.EVENT_TYPE, declined_v1, v1_declined)
    _type, declined = codec.decode(payload)
    assert (declined["decline_code"], declined["message"]) == (
        "issuer_declined",
        "card declined by issuer",
    )


def test_a_writer_schema_unknown_locally_is_read_by_resolution(
    codec: RegistryCodec, registry: Any
) -> None:
    newer = json.loads(SCHEMAS.latest(OrderPlaced.EVENT_TYPE).path.read_text())
    newer["fields"].append({"name": "coupon", "type": "string", "default": ""})
    payload = frame(registry, OrderPlaced.EVENT_TYPE, newer, {**PLACED, "coupon": "XMAS"})
    assert codec.decode(payload) == (OrderPlaced.EVENT_TYPE, PLACED)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "bad magic byte"),
        (b"\x01\x00\x00\x00\x01\x02", "bad magic byte"),
        (b"\x00\x00\x00\x03\xe7\x02", "unknown schema id 999 in the registry"),
    ],
)
def test_undecodable_bytes_raise_decode_error(
    codec: RegistryCodec, payload: bytes, reason: str
) -> None:
    with pytest.raises(DecodeError, match=reason):
        codec.decode(payload)


def test_a_corrupt_body_raises_decode_error(codec: RegistryCodec) -> None:
    payload = codec.encode(OrderPlaced.EVENT_TYPE, PLACED).payload
    with pytest.raises(DecodeError, match="corrupt Avro body"):
        codec.decode(payload[:9])


def test_a_registry_schema_of_an_unknown_event_type_raises_decode_error(
    codec: RegistryCodec, registry: Any
) -> None:
    other = {"type": "record", "name": "Stranger", "namespace": "x", "fields": []}
    schema_id = registry.register_schema("x.Stranger", Schema(json.dumps(other), "AVRO"))
    with pytest.raises(DecodeError, match=r"no schema for event type 'x\.Stranger'"):
        codec.decode(struct.pack(">bI", 0, schema_id))


def unreachable_url() -> str:
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_registry_is_a_clear_error_not_a_decode_error() -> None:
    url = unreachable_url()
    client = SchemaRegistryClient({"url": url, "max.retries": 0, "timeout": 2})
    codec = RegistryCodec(client, SCHEMAS, url=url)
    with pytest.raises(RegistryUnavailable, match=rf"schema registry at {url}: cannot register"):
        codec.encode(OrderPlaced.EVENT_TYPE, PLACED)
    with pytest.raises(RegistryUnavailable, match=r"cannot fetch schema id 7: ConnectError"):
        codec.decode(struct.pack(">bI", 0, 7) + b"\x02")


def test_the_composition_root_picks_the_framing_from_settings() -> None:
    from eventstore.codec import SingleObjectCodec
    from skald.registry import CONTEXTS
    from skald.services import Services
    from skald.settings import Settings

    with_registry = Services(Settings(schema_registry_url="mock://skald-services"), CONTEXTS)
    assert isinstance(with_registry.codec, RegistryCodec)
    without = Services(Settings(schema_registry_url=None), CONTEXTS)
    assert isinstance(without.codec, SingleObjectCodec)
    payload = without.codec.encode(OrderPlaced.EVENT_TYPE, PLACED).payload
    assert without.codec.decode(payload) == (OrderPlaced.EVENT_TYPE, PLACED)


def test_the_schema_id_names_the_event_type_once_known_without_asking_the_registry(
    registry: Any,
) -> None:
    writer = RegistryCodec(registry, SCHEMAS, Upcasters(UPCASTERS))
    payload = writer.encode(OrderPlaced.EVENT_TYPE, PLACED).payload
    client = CountingClient(registry)
    reader = RegistryCodec(cast(Any, client), SCHEMAS, Upcasters(UPCASTERS))
    assert reader.event_type_of(payload) is None  # not fetched yet: routing never waits on it
    assert client.calls == []
    reader.decode(payload)
    assert reader.event_type_of(payload) == OrderPlaced.EVENT_TYPE
    assert reader.event_type_of(b"\x01" + payload[1:]) is None
    assert reader.event_type_of(None) is None
