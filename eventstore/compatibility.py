"""Avro schema compatibility: can a reader schema read what a writer schema wrote?

Pure functions over parsed schemas (fastavro `parse_schema` output), following the Avro
specification's resolution rules, with aliases honoured for renamed records and fields.
Modes say which direction must hold between consecutive versions of one subject:
BACKWARD (the new schema reads old data), FORWARD (the old schema reads new data), FULL
(both) or NONE.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Schema = Any  # a parsed Avro schema: a name, a list (union) or a dict

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
# Writer type -> reader types that may read it (Avro "promotions").
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


class Mode(StrEnum):
    """Which direction of compatibility a subject promises between consecutive versions."""

    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"
    FULL = "FULL"
    NONE = "NONE"

    @property
    def needs_backward(self) -> bool:
        return self in (Mode.BACKWARD, Mode.FULL)

    @property
    def needs_forward(self) -> bool:
        return self in (Mode.FORWARD, Mode.FULL)


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason a reader cannot read a writer's data, at a field path (`""` = the root)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"field {self.path}: {self.reason}" if self.path else self.reason


@dataclass(slots=True)
class _Walk:
    """Named types of both sides, and record pairs already being compared (recursion)."""

    reader_names: dict[str, dict[str, Any]]
    writer_names: dict[str, dict[str, Any]]
    reader_label: str
    writer_label: str
    seen: set[tuple[str, str]] = field(default_factory=set)


def named_types(schema: Schema) -> dict[str, dict[str, Any]]:
    """Every named type (record, enum, fixed) defined in a schema, by full name."""
    found: dict[str, dict[str, Any]] = {}
    for node in _nodes(schema):
        if node.get("type") in ("record", "error", "enum", "fixed") and "name" in node:
            found[node["name"]] = node
    return found


def _nodes(schema: Schema) -> Iterator[dict[str, Any]]:
    if isinstance(schema, list):
        for branch in schema:
            yield from _nodes(branch)
    elif isinstance(schema, dict):
        yield schema
        for item in schema.get("fields", ()):
            yield from _nodes(item["type"])
        for key in ("items", "values"):
            if key in schema:
                yield from _nodes(schema[key])


def can_read(
    reader: Schema, writer: Schema, reader_label: str = "reader", writer_label: str = "writer"
) -> list[Incompatibility]:
    """Why `reader` cannot read data written with `writer`; empty when it can.

    The labels (e.g. "v2", "v1") name the two sides in the reasons.
    """
    walk = _Walk(named_types(reader), named_types(writer), reader_label, writer_label)
    return list(_check(reader, writer, "", walk))


def _deref(schema: Schema, names: dict[str, dict[str, Any]]) -> Schema:
    if isinstance(schema, str) and schema not in PRIMITIVES:
        return names.get(schema, schema)
    return schema


def kind(schema: Schema) -> str:
    """The Avro type of a (dereferenced) schema: a primitive or complex type name, or union."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"])
    return str(schema)


def describe(schema: Schema) -> str:
    """A short human rendering of a type, e.g. `array<sales.order.OrderItem>`."""
    if isinstance(schema, list):
        return "[" + ", ".join(describe(branch) for branch in schema) + "]"
    if not isinstance(schema, dict):
        return str(schema)
    match schema["type"]:
        case "record" | "error" | "enum" | "fixed":
            return str(schema["name"])
        case "array":
            return f"array<{describe(schema['items'])}>"
        case "map":
            return f"map<{describe(schema['values'])}>"
        case primitive:
            logical = schema.get("logicalType")
            return f"{primitive} ({logical})" if logical else str(primitive)


def _check(reader: Schema, writer: Schema, path: str, walk: _Walk) -> Iterator[Incompatibility]:
    reader = _deref(reader, walk.reader_names)
    writer = _deref(writer, walk.writer_names)
    r_kind, w_kind = kind(reader), kind(writer)
    if w_kind == "union":
        for branch in writer:
            yield from _check(reader, branch, path, walk)
        return
    if r_kind == "union":
        yield from _check_reader_union(reader, writer, path, walk)
        return
    if r_kind != w_kind and r_kind not in PROMOTIONS.get(w_kind, frozenset()):
        yield _mismatch(reader, writer, path, walk)
        return
    match r_kind:
        case "record" | "error":
            yield from _check_record(reader, writer, path, walk)
        case "enum":
            yield from _check_enum(reader, writer, path, walk)
        case "fixed":
            yield from _check_fixed(reader, writer, path, walk)
        case "array":
            yield from _check(reader["items"], writer["items"], f"{path}[]", walk)
        case "map":
            yield from _check(reader["values"], writer["values"], f"{path}{{}}", walk)
        case _:
            yield from _check_logical(reader, writer, path, walk)


def _mismatch(reader: Schema, writer: Schema, path: str, walk: _Walk) -> Incompatibility:
    return Incompatibility(
        path,
        f"{walk.writer_label} writes {describe(writer)}, "
        f"which {walk.reader_label} cannot read as {describe(reader)}",
    )


def _check_reader_union(
    reader: list[Schema], writer: Schema, path: str, walk: _Walk
) -> Iterator[Incompatibility]:
    for branch in reader:
        if not list(_check(branch, writer, path, _fork(walk))):
            return
    yield Incompatibility(
        path,
        f"{walk.writer_label} writes {describe(writer)}, which matches no branch of "
        f"{walk.reader_label}'s union {describe(reader)}",
    )


def _fork(walk: _Walk) -> _Walk:
    """A copy for trial matches (union branches), so failed trials leave no trace."""
    return _Walk(
        walk.reader_names,
        walk.writer_names,
        walk.reader_label,
        walk.writer_label,
        set(walk.seen),
    )


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _names_match(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    """Unqualified names equal, or the writer's name among the reader's aliases."""
    if _short(reader["name"]) == _short(writer["name"]):
        return True
    aliases = reader.get("aliases") or ()
    return writer["name"] in aliases or _short(writer["name"]) in {_short(a) for a in aliases}


def _check_named(
    reader: dict[str, Any], writer: dict[str, Any], path: str, walk: _Walk
) -> Iterator[Incompatibility]:
    if not _names_match(reader, writer):
        yield Incompatibility(
            path,
            f"{walk.writer_label} writes {reader['type']} {writer['name']}, which "
            f"{walk.reader_label} does not accept as {reader['name']} (no matching alias)",
        )


def _check_record(
    reader: dict[str, Any], writer: dict[str, Any], path: str, walk: _Walk
) -> Iterator[Incompatibility]:
    mismatch = list(_check_named(reader, writer, path, walk))
    if mismatch:
        yield from mismatch
        return
    pair = (reader["name"], writer["name"])
    if pair in walk.seen:
        return  # a recursive type: this pair is already being compared further up
    walk.seen.add(pair)
    written = {f["name"]: f for f in writer["fields"]}
    for reader_field in reader["fields"]:
        field_path = f"{path}.{reader_field['name']}" if path else reader_field["name"]
        writer_field = _writer_field(reader_field, written)
        if writer_field is not None:
            yield from _check(reader_field["type"], writer_field["type"], field_path, walk)
        elif "default" not in reader_field:
            yield Incompatibility(
                field_path,
                f"{walk.reader_label} expects it, {walk.writer_label} does not write it, "
                f"and {walk.reader_label} gives it no default",
            )


def _writer_field(
    reader_field: dict[str, Any], written: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The writer's field a reader field reads: same name, else one of its aliases."""
    for name in (reader_field["name"], *(reader_field.get("aliases") or ())):
        if name in written:
            return written[name]
    return None


def _check_enum(
    reader: dict[str, Any], writer: dict[str, Any], path: str, walk: _Walk
) -> Iterator[Incompatibility]:
    yield from _check_named(reader, writer, path, walk)
    missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
    if missing and "default" not in reader:
        yield Incompatibility(
            path,
            f"{walk.writer_label} may write symbols {', '.join(missing)} that "
            f"{walk.reader_label}'s enum {reader['name']} lacks, and it has no default symbol",
        )


def _check_fixed(
    reader: dict[str, Any], writer: dict[str, Any], path: str, walk: _Walk
) -> Iterator[Incompatibility]:
    yield from _check_named(reader, writer, path, walk)
    if reader["size"] != writer["size"]:
        yield Incompatibility(
            path,
            f"{walk.writer_label} writes fixed({writer['size']}), "
            f"{walk.reader_label} expects fixed({reader['size']})",
        )


def _check_logical(
    reader: Schema, writer: Schema, path: str, walk: _Walk
) -> Iterator[Incompatibility]:
    """Stricter than Avro: a changed logical type on the same bytes changes their meaning."""
    r_logical = reader.get("logicalType") if isinstance(reader, dict) else None
    w_logical = writer.get("logicalType") if isinstance(writer, dict) else None
    if r_logical and w_logical and r_logical != w_logical:
        yield Incompatibility(
            path,
            f"logical type changed: {walk.writer_label} writes {w_logical}, "
            f"{walk.reader_label} would read it as {r_logical}",
        )


def transition_problems(
    older: Schema,
    newer: Schema,
    mode: Mode,
    older_label: str,
    newer_label: str,
    *,
    upcasted: bool = False,
) -> list[Incompatibility]:
    """What breaks `mode` between two consecutive versions.

    An upcaster registered for the transition stands in for the backward direction: it turns
    old records into new ones where Avro resolution cannot.
    """
    problems: list[Incompatibility] = []
    if mode.needs_backward and not upcasted:
        problems += can_read(newer, older, newer_label, older_label)
    if mode.needs_forward:
        problems += can_read(older, newer, older_label, newer_label)
    return problems
