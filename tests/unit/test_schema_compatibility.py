"""The Avro resolution rules behind `skald schemas check`, one small case each."""

from __future__ import annotations

from typing import Any

import pytest
from fastavro.schema import parse_schema

from eventstore.compatibility import Mode, can_read, describe, transition_problems


def record(*fields: dict[str, Any], name: str = "Thing", **extra: Any) -> Any:
    raw = {"type": "record", "name": name, "namespace": "test", "fields": list(fields), **extra}
    return parse_schema(raw, _write_hint=False)


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def reasons(reader: Any, writer: Any) -> list[str]:
    return [str(problem) for problem in can_read(reader, writer, "new", "old")]


ENUM = {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN"]}


# -- compatible changes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("writer_type", "reader_type"),
    [
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
        ("string", "string"),
        ("null", "null"),
    ],
)
def test_promotions_and_identical_primitives_read(writer_type: str, reader_type: str) -> None:
    assert reasons(record(field("x", reader_type)), record(field("x", writer_type))) == []


def test_a_field_added_with_a_default_reads_old_data() -> None:
    old = record(field("a", "string"))
    new = record(field("a", "string"), field("b", "string", default="web"))
    assert reasons(new, old) == []


def test_a_removed_field_is_ignored_by_the_reader() -> None:
    old = record(field("a", "string"), field("b", "int"))
    assert reasons(record(field("a", "string")), old) == []


def test_a_field_renamed_with_an_alias_reads_the_old_name() -> None:
    old = record(field("customer", "string"))
    new = record(field("buyer", "string", aliases=["customer"]))
    assert reasons(new, old) == []


def test_a_record_renamed_with_an_alias_reads_the_old_name() -> None:
    old = record(field("a", "int"), name="Old")
    new = record(field("a", "int"), name="New", aliases=["test.Old"])
    assert reasons(new, old) == []


def test_an_enum_symbol_added_reads_old_data() -> None:
    new_enum = {**ENUM, "symbols": ["RED", "GREEN", "BLUE"]}
    assert reasons(record(field("c", new_enum)), record(field("c", ENUM))) == []


def test_an_enum_default_absorbs_unknown_symbols() -> None:
    reader_enum = {**ENUM, "symbols": ["RED", "OTHER"], "default": "OTHER"}
    assert reasons(record(field("c", reader_enum)), record(field("c", ENUM))) == []


def test_a_value_widened_into_a_union_reads_old_data() -> None:
    old = record(field("x", "string"))
    new = record(field("x", ["null", "string"], default=None))
    assert reasons(new, old) == []


def test_a_union_gaining_a_branch_reads_old_data() -> None:
    old = record(field("x", ["null", "int"]))
    assert reasons(record(field("x", ["null", "int", "string"])), old) == []


def test_union_branches_resolve_with_promotion() -> None:
    assert reasons(record(field("x", ["null", "double"])), record(field("x", "int"))) == []


def test_nested_records_in_arrays_and_maps_are_compared() -> None:
    item_old = {"type": "record", "name": "Item", "fields": [field("q", "int")]}
    item_new = {
        "type": "record",
        "name": "Item",
        "fields": [field("q", "long"), field("note", "string", default="")],
    }
    old = record(field("items", {"type": "array", "items": item_old}))
    new = record(field("items", {"type": "array", "items": item_new}))
    assert reasons(new, old) == []
    assert (
        reasons(
            record(field("m", {"type": "map", "values": "long"})),
            record(field("m", {"type": "map", "values": "int"})),
        )
        == []
    )


def test_a_named_type_referenced_twice_is_resolved_by_name() -> None:
    item = {"type": "record", "name": "Item", "fields": [field("q", "int")]}
    schema = record(field("first", item), field("second", "test.Item"))
    assert reasons(schema, schema) == []


def test_recursive_records_terminate() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [field("value", "int"), field("next", ["null", "test.Node"], default=None)],
    }
    schema = record(field("head", node))
    assert reasons(schema, schema) == []


def test_a_logical_type_added_on_the_same_primitive_is_accepted() -> None:
    old = record(field("t", "long"))
    new = record(field("t", {"type": "long", "logicalType": "timestamp-millis"}))
    assert reasons(new, old) == []


# -- breaking changes -----------------------------------------------------------------


def test_a_field_added_without_a_default_breaks_backward() -> None:
    old = record(field("a", "string"))
    new = record(field("a", "string"), field("currency", "string"))
    assert reasons(new, old) == [
        "field currency: new expects it, old does not write it, and new gives it no default"
    ]


@pytest.mark.parametrize(
    ("writer_type", "reader_type"),
    [
        ("long", "int"),
        ("double", "float"),
        ("double", "long"),
        ("string", "int"),
        ("int", "string"),
        ("boolean", "int"),
        ("null", "string"),
    ],
)
def test_narrowing_or_unrelated_types_break(writer_type: str, reader_type: str) -> None:
    assert reasons(record(field("x", reader_type)), record(field("x", writer_type))) == [
        f"field x: old writes {writer_type}, which new cannot read as {reader_type}"
    ]


def test_a_rename_without_an_alias_breaks() -> None:
    old = record(field("customer", "string"))
    new = record(field("buyer", "string"))
    assert reasons(new, old) == [
        "field buyer: new expects it, old does not write it, and new gives it no default"
    ]


def test_a_record_renamed_without_an_alias_breaks() -> None:
    problems = reasons(record(name="New"), record(name="Old"))
    assert problems == [
        "old writes record test.Old, which new does not accept as test.New (no matching alias)"
    ]


def test_an_enum_symbol_removed_breaks() -> None:
    reader_enum = {**ENUM, "symbols": ["RED"]}
    assert reasons(record(field("c", reader_enum)), record(field("c", ENUM))) == [
        "field c: old may write symbols GREEN that new's enum test.Colour lacks, "
        "and it has no default symbol"
    ]


def test_a_fixed_size_change_breaks() -> None:
    old = record(field("h", {"type": "fixed", "name": "Hash", "size": 16}))
    new = record(field("h", {"type": "fixed", "name": "Hash", "size": 32}))
    assert reasons(new, old) == ["field h: old writes fixed(16), new expects fixed(32)"]


def test_a_union_losing_a_written_branch_breaks() -> None:
    old = record(field("x", ["null", "int", "string"]))
    assert reasons(record(field("x", ["null", "int"])), old) == [
        "field x: old writes string, which matches no branch of new's union [null, int]"
    ]


def test_a_union_narrowed_to_its_non_null_branch_breaks() -> None:
    old = record(field("x", ["null", "string"], default=None))
    assert reasons(record(field("x", "string")), old) == [
        "field x: old writes null, which new cannot read as string"
    ]


def test_a_nested_break_names_the_full_path() -> None:
    item_old = {"type": "record", "name": "Item", "fields": [field("q", "long")]}
    item_new = {"type": "record", "name": "Item", "fields": [field("q", "int")]}
    old = record(field("items", {"type": "array", "items": item_old}))
    new = record(field("items", {"type": "array", "items": item_new}))
    assert reasons(new, old) == ["field items[].q: old writes long, which new cannot read as int"]
    maps = reasons(
        record(field("m", {"type": "map", "values": "int"})),
        record(field("m", {"type": "map", "values": "string"})),
    )
    assert maps == ["field m{}: old writes string, which new cannot read as int"]


def test_a_changed_logical_type_breaks() -> None:
    old = record(field("t", {"type": "long", "logicalType": "timestamp-millis"}))
    new = record(field("t", {"type": "long", "logicalType": "timestamp-micros"}))
    assert reasons(new, old) == [
        "field t: logical type changed: old writes timestamp-millis, "
        "new would read it as timestamp-micros"
    ]


def test_an_array_becoming_a_map_breaks() -> None:
    old = record(field("x", {"type": "array", "items": "int"}))
    new = record(field("x", {"type": "map", "values": "int"}))
    assert reasons(new, old) == [
        "field x: old writes array<int>, which new cannot read as map<int>"
    ]


# -- modes ----------------------------------------------------------------------------

OLD = record(field("a", "string"), field("gone", "int"))
NEW = record(field("a", "string"), field("added", "string"))


def modes_problems(mode: Mode, upcasted: bool = False) -> list[str]:
    return [str(p) for p in transition_problems(OLD, NEW, mode, "v1", "v2", upcasted=upcasted)]


def test_backward_checks_that_the_new_schema_reads_old_data() -> None:
    assert modes_problems(Mode.BACKWARD) == [
        "field added: v2 expects it, v1 does not write it, and v2 gives it no default"
    ]


def test_forward_checks_that_the_old_schema_reads_new_data() -> None:
    assert modes_problems(Mode.FORWARD) == [
        "field gone: v1 expects it, v2 does not write it, and v1 gives it no default"
    ]


def test_full_checks_both_directions() -> None:
    assert len(modes_problems(Mode.FULL)) == 2


def test_none_checks_nothing() -> None:
    assert modes_problems(Mode.NONE) == []


def test_an_upcaster_stands_in_for_the_backward_direction_only() -> None:
    assert modes_problems(Mode.BACKWARD, upcasted=True) == []
    assert len(modes_problems(Mode.FULL, upcasted=True)) == 1


def test_types_are_described_readably() -> None:
    item = {"type": "record", "name": "Item", "fields": []}
    assert describe(parse_schema({"type": "array", "items": item})) == "array<Item>"
    assert describe(["null", {"type": "long", "logicalType": "timestamp-millis"}]) == (
        "[null, long (timestamp-millis)]"
    )
