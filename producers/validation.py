"""The edge's one validation policy: what a value must be before any store sees it.

Every route and body uses these types, so the OpenAPI document states each rule and a value
the API accepts is one PostgreSQL (text, int4, int8, timestamptz), OpenSearch (keyword,
long, date) and Kafka (UTF-8 JSON, Avro) all hold. The rules per field are in the README
("Input rules").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

# Identifiers (order ids, customer ids, SKUs): ASCII letters, digits and `_ . : -`, starting
# with a letter or digit (never a dot segment in a URL), 1-64 characters. UUIDs fit.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
ID_MAX_LENGTH = 64

# Free text: any Unicode except control characters other than tab, newline and carriage
# return (PostgreSQL text can't hold NUL; the rest only hide in logs). Lone surrogates never
# get this far: they are not Unicode, and the JSON parser refuses them.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

INT4_MAX = 2**31 - 1  # PostgreSQL integer: versions
INT8_MAX = 2**63 - 1  # PostgreSQL bigint and OpenSearch long: cents, offsets

# Instants a query may name: Python, PostgreSQL timestamptz and OpenSearch date all hold
# these after any UTC offset is applied.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)

Identifier = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN
    ),
]


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=TEXT_PATTERN
    )


ItemName = Annotated[str, _text(200)]  # a product's name on an order line
Reason = Annotated[str, _text(500)]  # why an order was cancelled
SearchText = Annotated[str, _text(200)]  # what a person typed into a search box
# Card tokens are opaque identifiers of the payment provider: the identifier alphabet, longer.
PaymentToken = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
    ),
]

Version = Annotated[int, Field(ge=1, le=INT4_MAX)]
ExpectedVersion = Annotated[int, Field(ge=0, le=INT4_MAX)]
Cents = Annotated[int, Field(ge=0, le=INT8_MAX)]


def _within_range(value: datetime) -> datetime:
    """Naive instants are UTC; outside 1900..9999 is refused before a store overflows."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        inside = EARLIEST <= aware <= LATEST
    except OverflowError:  # an offset pushed it past year 1 or 9999
        inside = False
    if not inside:
        raise ValueError("must be between 1900-01-01 and 9999-01-01 (UTC)")
    return aware


Instant = Annotated[
    datetime,
    AfterValidator(_within_range),
    Field(description="ISO 8601; without an offset it is UTC; 1900-01-01 to 9999-01-01"),
]


def storable_field_name(part: object, max_length: int = 80) -> str:
    """A field name from an error location, safe to echo: a hostile body's unknown key may
    hold anything, so it is escaped to printable ASCII and shortened."""
    text = str(part).encode("ascii", "backslashreplace").decode("ascii")
    printable = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return printable if len(printable) <= max_length else printable[:max_length] + "..."
