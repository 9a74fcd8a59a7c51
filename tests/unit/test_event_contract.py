"""Every registered event class matches its newest Avro schema, field by field."""

from __future__ import annotations

import dataclasses

import pytest

from eventstore.mapper import EventMapper
from eventstore.schemas import SchemaRepository
from skald.registry import CONTEXTS
from skald.settings import REPO_ROOT

EVENT_CLASSES = [cls for context in CONTEXTS for cls in context.event_classes]
MAPPER = EventMapper(EVENT_CLASSES)
SCHEMAS = SchemaRepository.from_directory(REPO_ROOT / "schemas")


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: cls.__name__)
def test_event_fields_match_the_schema(cls: type) -> None:
    schema = SCHEMAS.latest(MAPPER.event_type_of_class(cls))
    schema_fields = [field["name"] for field in schema.parsed["fields"]]
    class_fields = [field.name for field in dataclasses.fields(cls)]
    assert class_fields == schema_fields


def test_every_schema_has_an_event_class() -> None:
    assert set(SCHEMAS.event_types()) == {MAPPER.event_type_of_class(c) for c in EVENT_CLASSES}
