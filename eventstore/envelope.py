"""The event envelope, carried as CloudEvents Kafka binary-mode headers beside the Avro body.

Consumers route on `ce_type` without decoding the body.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/avro"

Headers = list[tuple[str, str | bytes | None]]
# What confluent-kafka hands back: pairs (or a dict) whose values may be str, bytes or None.
RawHeaders = Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None


class EnvelopeError(Exception):
    """Headers that do not form a valid envelope."""


@dataclass(slots=True)
class Envelope:
    """Everything about an event except its body.

    Treated as immutable but not declared frozen: a frozen class sets each field through
    `object.__setattr__`, 1 µs more for every event written and every event read.
    """

    event_id: str
    event_type: str
    source: str
    time: datetime
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    schema_version: int
    correlation_id: str
    causation_id: str
    traceparent: str | None = None

    def to_headers(self) -> Headers:
        """CloudEvents binary binding: `ce_`-prefixed attributes, extensions lowercase."""
        return HeaderTemplate.of(self).headers(self)

    @classmethod
    def from_headers(cls, headers: RawHeaders) -> Envelope:
        """Parse Kafka headers; raises EnvelopeError naming what is missing or malformed.

        Runs for every event a reader sees: the pairs become a dict in one C call and only
        the headers the envelope holds are decoded (the last of a repeated name wins).
        """
        values: Mapping[str, str | bytes | None]
        if type(headers) is list:  # what librdkafka hands: skip the ABC check
            values = dict(headers)
        else:
            values = headers if isinstance(headers, Mapping) else dict(headers or ())
        try:
            raw = _envelope_values(values)
            try:
                # The common case, valid UTF-8 bytes: decoded in C, no call per header.
                texts = list(map(bytes.decode, raw))
            except (TypeError, UnicodeDecodeError):  # str or None values, or bad bytes
                texts = [_text(value) for value in raw]
            event_id, event_type, source, time, aggregate_type, subject = texts[:6]
            version, schema, correlation_id, causation_id = texts[6:]
            return cls(
                event_id,
                event_type,
                source,
                datetime.fromisoformat(time),
                aggregate_type,
                subject,
                int(version),
                int(schema.rsplit("/v", 1)[1]),
                correlation_id,
                causation_id,
                _text(values["traceparent"]) if "traceparent" in values else None,
            )
        except KeyError as missing:
            raise EnvelopeError(f"missing header {missing}") from None
        except (ValueError, IndexError) as error:
            raise EnvelopeError(f"malformed header: {error}") from None


# The headers an envelope holds, in the order `from_headers` reads them.
_envelope_values = operator.itemgetter(
    "ce_id",
    "ce_type",
    "ce_source",
    "ce_time",
    "ce_aggregatetype",
    "ce_subject",
    "ce_aggregateversion",
    "ce_dataschema",
    "ce_correlationid",
    "ce_causationid",
)


class HeaderTemplate:
    """The headers of an envelope, with those shared by every event of one type, schema
    version, aggregate type and source encoded once: a writer keeps one template per type
    (never per aggregate, so the cache stays bounded) and encodes only what changes."""

    __slots__ = ("_aggregate_type", "_dataschema", "_last_time", "_source", "_type")

    def __init__(
        self, event_type: str, schema_version: int, aggregate_type: str, source: str
    ) -> None:
        self._type = ("ce_type", event_type.encode())
        self._source = ("ce_source", source.encode())
        self._dataschema = ("ce_dataschema", f"avro:{event_type}/v{schema_version}".encode())
        self._aggregate_type = ("ce_aggregatetype", aggregate_type.encode())
        # The last time header made: a writer's clock hands the same object for a whole
        # millisecond (`MillisecondClock`), and formatting it costs more than the rest.
        self._last_time: tuple[datetime | None, tuple[str, bytes]] = (None, ("ce_time", b""))

    @classmethod
    def of(cls, envelope: Envelope) -> HeaderTemplate:
        """The template `envelope` fits."""
        return cls(
            envelope.event_type, envelope.schema_version, envelope.aggregate_type, envelope.source
        )

    def headers(self, envelope: Envelope) -> Headers:
        """`envelope` as headers; it must have the type, version and source of the template."""
        headers: Headers = [
            _SPEC_VERSION,
            ("ce_id", envelope.event_id.encode()),
            self._type,
            self._source,
            self._time(envelope.time),
            ("ce_subject", envelope.aggregate_id.encode()),
            self._dataschema,
            self._aggregate_type,
            ("ce_aggregateversion", str(envelope.aggregate_version).encode()),
            ("ce_correlationid", envelope.correlation_id.encode()),
            ("ce_causationid", envelope.causation_id.encode()),
            _CONTENT_TYPE,
        ]
        if envelope.traceparent:
            headers.append(("traceparent", envelope.traceparent.encode()))
        return headers

    def _time(self, when: datetime) -> tuple[str, bytes]:
        last, header = self._last_time  # one read: another thread may replace it
        if when is not last:
            text = when.astimezone(UTC).isoformat(timespec="milliseconds")
            header = ("ce_time", text.encode())
            self._last_time = (when, header)
        return header


_SPEC_VERSION = ("ce_specversion", SPEC_VERSION.encode())
_CONTENT_TYPE = ("content-type", CONTENT_TYPE.encode())


def header_value(headers: RawHeaders, key: str) -> str | None:
    """One header's value, decoded, without parsing the whole envelope (nor decoding the
    other headers: the command path asks for several per command)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or []
    for name, value in pairs:
        if name == key:
            return _text(value)
    return None


def _text(value: str | bytes | None) -> str:
    """A header value as text (librdkafka hands bytes; a dict of headers may hold str)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""
