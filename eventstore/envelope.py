"""The event envelope, carried as CloudEvents Kafka binary-mode headers beside the Avro body.

Consumers route on `ce_type` without decoding the body.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/avro"

Headers = list[tuple[str, str | bytes | None]]
# What confluent-kafka hands back: pairs (or a dict) whose values may be str, bytes or None.
RawHeaders = Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None


class EnvelopeError(Exception):
    """Headers that do not form a valid envelope."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """Everything about an event except its body."""

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
        headers = {
            "ce_specversion": SPEC_VERSION,
            "ce_id": self.event_id,
            "ce_type": self.event_type,
            "ce_source": self.source,
            "ce_time": self.time.astimezone(UTC).isoformat(timespec="milliseconds"),
            "ce_subject": self.aggregate_id,
            "ce_dataschema": f"avro:{self.event_type}/v{self.schema_version}",
            "ce_aggregatetype": self.aggregate_type,
            "ce_aggregateversion": str(self.aggregate_version),
            "ce_correlationid": self.correlation_id,
            "ce_causationid": self.causation_id,
            "content-type": CONTENT_TYPE,
        }
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        return [(key, value.encode()) for key, value in headers.items()]

    @classmethod
    def from_headers(cls, headers: RawHeaders) -> Envelope:
        """Parse Kafka headers; raises EnvelopeError naming what is missing or malformed."""
        values = _decoded_map(headers)
        try:
            schema = values["ce_dataschema"]
            return cls(
                event_id=values["ce_id"],
                event_type=values["ce_type"],
                source=values["ce_source"],
                time=datetime.fromisoformat(values["ce_time"]),
                aggregate_type=values["ce_aggregatetype"],
                aggregate_id=values["ce_subject"],
                aggregate_version=int(values["ce_aggregateversion"]),
                schema_version=int(schema.rsplit("/v", 1)[1]),
                correlation_id=values["ce_correlationid"],
                causation_id=values["ce_causationid"],
                traceparent=values.get("traceparent"),
            )
        except KeyError as missing:
            raise EnvelopeError(f"missing header {missing}") from None
        except (ValueError, IndexError) as error:
            raise EnvelopeError(f"malformed header: {error}") from None


def header_value(headers: RawHeaders, key: str) -> str | None:
    """One header's value, decoded, without parsing the whole envelope."""
    return next((value for name, value in _decoded(headers) if name == key), None)


def _decoded_map(headers: RawHeaders) -> dict[str, str]:
    """Every header decoded, in one comprehension: this runs for every event a reader sees."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    return {
        name: value.decode("utf-8", "replace") if isinstance(value, bytes) else value or ""
        for name, value in pairs
    }


def _decoded(headers: RawHeaders) -> Iterator[tuple[str, str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers or []
    for name, value in pairs:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value or ""
        yield name, text
