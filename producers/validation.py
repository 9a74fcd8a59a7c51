"""The edge's one validation policy: what a value must be before any store sees it.

Every route and body uses these types, so the OpenAPI document states each rule and a value
the API accepts is one PostgreSQL (text, int4, int8, timestamptz), OpenSearch (keyword,
long, date) and Kafka (UTF-8 JSON, Avro) all hold. The rules per field are in the README
("Input rules").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

# Identifiers (order ids, customer ids, SKUs): ASCII letters, digits and `_ . : -`, starting
# with a letter or digit (never a dot segment in a URL), 1-64 characters. UUIDs fit.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
ID_MAX_LENGTH = 64

# Free text: any Unicode except control characters other than tab, newline and carriage
# return (PostgreSQL text can't hold NUL; the rest only hide in logs), with at least one
# visible character. Lone surrogates never get this far: they are not Unicode, and the JSON
# parser refuses them. Nothing is stripped: what the schema accepts is what is stored.
_ALLOWED = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
TEXT_PATTERN = rf"^{_ALLOWED}*$"
NONBLANK_TEXT_PATTERN = rf"^{_ALLOWED}*[^\s\x00-\x1f\x7f]{_ALLOWED}*$"

INT4_MAX = 2**31 - 1  # PostgreSQL integer: versions
INT8_MAX = 2**63 - 1  # PostgreSQL bigint and OpenSearch long: cents, offsets

# Instants a query may name: any RFC 3339 date-time. One whose UTC offset pushes it past
# Python's range (0001-01-01T00:00:00+01:00) is clamped to the range's end: as a query bound
# it means the same for any stored instant.
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)
]


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(min_length=1, max_length=max_length, pattern=NONBLANK_TEXT_PATTERN)


ItemName = Annotated[str, _text(200)]  # a product's name on an order line
Reason = Annotated[str, _text(500)]  # why an order was cancelled
SearchText = Annotated[str, _text(200)]  # what a person typed into a search box
# Card tokens are opaque identifiers of the payment provider: the identifier alphabet, longer.
PaymentToken = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
    ),
]


def _in_utc(value: datetime) -> datetime:
    """The instant in UTC (naive means UTC), clamped to Python's range."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        return aware.astimezone(UTC)
    except OverflowError:  # the offset pushed it past year 1 or 9999
        return EARLIEST if aware.year == 1 else LATEST


def _json_integer(value: object) -> object:
    """JSON integers only: `1.0` is one (JSON Schema says so), `true` and `"1"` are not."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer")
    return value


# An integer in a JSON body; add its range with Field(...) at the use site.
BodyInt = Annotated[int, BeforeValidator(_json_integer)]
Version = Annotated[int, Field(ge=1, le=INT4_MAX)]  # a query's aggregate version (int4)
# Constraints before the validator: after it, the JSON schema would lose them.
ExpectedVersion = Annotated[int, Field(ge=0, le=INT4_MAX), BeforeValidator(_json_integer)]
Cents = Annotated[int, Field(ge=0, le=INT8_MAX)]  # a query's amount (bigint, OpenSearch long)


def _iso_text(value: object) -> object:
    """Only ISO 8601 text: pydantic would also read `0.5` as seconds since 1970."""
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z")
    return value


Instant = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_utc),
    Field(description="RFC 3339 date-time; without an offset it is UTC"),
]


def storable_field_name(part: object, max_length: int = 80) -> str:
    """A field name from an error location, safe to echo: a hostile body's unknown key may
    hold anything, so it is escaped to printable ASCII and shortened."""
    text = str(part).encode("ascii", "backslashreplace").decode("ascii")
    printable = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return printable if len(printable) <= max_length else printable[:max_length] + "..."
