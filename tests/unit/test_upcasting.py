"""Upcaster registration and the read chain: Avro resolution and upcasters interleaved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contexts.payments.payment.events import EVENT_CLASSES, PaymentDeclined
from eventstore.codec import DecodeError, SingleObjectCodec
from eventstore.schemas import SchemaRepository
from eventstore.upcasting import Record, Upcaster, Upcasters

TYPE = "shop.cart.Opened"


def write(root: Path, version: int, fields: list[dict[str, Any]]) -> None:
    path = root / "shop" / "cart" / f"Opened.v{version}.avsc"
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = {"type": "record", "name": "Opened", "namespace": "shop.cart", "fields": fields}
    path.write_text(json.dumps(schema))


@pytest.fixture
def four_versions(tmp_path: Path) -> SchemaRepository:
    """v1 name -> v2 first/last (upcaster) -> v3 +channel (Avro) -> v4 full name (upcaster)."""
    write(tmp_path, 1, [{"name": "name", "type": "string"}])
    split = [{"name": "first", "type": "string"}, {"name": "last", "type": "string"}]
    write(tmp_path, 2, split)
    channel = {"name": "channel", "type": "string", "default": "web"}
    write(tmp_path, 3, [*split, channel])
    write(tmp_path, 4, [{"name": "full_name", "type": "string"}, channel])
    return SchemaRepository.from_directory(tmp_path)


def split_name(record: Record) -> Record:
    first, _, last = record.pop("name").partition(" ")
    return {**record, "first": first, "last": last}


def join_name(record: Record) -> Record:
    return {"full_name": f"{record['last']}, {record['first']}", "channel": record["channel"]}


CHAIN = Upcasters([Upcaster(TYPE, 1, split_name), Upcaster(TYPE, 3, join_name)])


@pytest.mark.parametrize(
    ("version", "record", "expected"),
    [
        (1, {"name": "Ada Lovelace"}, {"full_name": "Lovelace, Ada", "channel": "web"}),
        (2, {"first": "Ada", "last": "L"}, {"full_name": "L, Ada", "channel": "web"}),
        (3, {"first": "A", "last": "L", "channel": "app"}, {"full_name": "L, A", "channel": "app"}),
        (4, {"full_name": "X", "channel": "app"}, {"full_name": "X", "channel": "app"}),
    ],
)
def test_every_old_version_reads_as_the_newest(
    four_versions: SchemaRepository, version: int, record: Record, expected: Record
) -> None:
    codec = SingleObjectCodec(four_versions, CHAIN)
    payload = codec.encode_as(four_versions.version(TYPE, version), record).payload
    assert codec.decode(payload) == (TYPE, expected)


def test_a_missing_upcaster_in_the_middle_of_the_chain_is_a_decode_error(
    four_versions: SchemaRepository,
) -> None:
    codec = SingleObjectCodec(four_versions, Upcasters([Upcaster(TYPE, 1, split_name)]))
    payload = codec.encode_as(four_versions.version(TYPE, 1), {"name": "Ada L"}).payload
    with pytest.raises(DecodeError, match=r"cannot read v2 as v4 .* needs an upcaster"):
        codec.decode(payload)


def test_two_upcasters_for_one_step_are_refused() -> None:
    with pytest.raises(ValueError, match=r"two upcasters for shop\.cart\.Opened v1"):
        Upcasters([Upcaster(TYPE, 1, split_name), Upcaster(TYPE, 1, join_name)])


def test_upcasters_are_discovered_beside_the_event_classes() -> None:
    found = Upcasters.discover(EVENT_CLASSES)
    assert found.covers(PaymentDeclined.EVENT_TYPE, 1)
    assert not found.covers(PaymentDeclined.EVENT_TYPE, 2)
    assert [u.to_version for u in found] == [2]


def test_boundaries_are_the_upcast_steps_in_a_version_range() -> None:
    assert CHAIN.boundaries(TYPE, 1, 4) == [1, 3]
    assert CHAIN.boundaries(TYPE, 2, 4) == [3]
    assert CHAIN.boundaries(TYPE, 4, 4) == []
