"""A position in the log, and its opaque form handed to clients as a consistency token."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass


class InvalidPosition(ValueError):
    """A consistency token that does not decode to a position."""


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """An event's place in Kafka: topic, partition, offset."""

    topic: str
    partition: int
    offset: int

    def token(self) -> str:
        """An opaque, URL-safe token for this position."""
        raw = f"{self.topic}:{self.partition}:{self.offset}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> Position:
        """Parse a token made by `token()`."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            topic, partition, offset = raw.rsplit(":", 2)
            return cls(topic, int(partition), int(offset))
        except (ValueError, binascii.Error, UnicodeDecodeError) as error:
            raise InvalidPosition(f"malformed consistency token {token!r}") from error
