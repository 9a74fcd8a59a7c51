"""Command and reply messages on Kafka: JSON bodies, routing facts in headers.

Commands are internal, short-lived requests (not the storage contract), so JSON suffices;
events stay Avro.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eventstore.envelope import Headers, RawHeaders, header_value

COMMAND_TYPE = "skald_command_type"
CORRELATION_ID = "skald_correlation_id"
REPLY_TO = "skald_reply_to"
IDEMPOTENCY_KEY = "skald_idempotency_key"
REQUEST_FINGERPRINT = "skald_request_fingerprint"
EXPECTED_VERSION = "skald_expected_version"
TRACEPARENT = "traceparent"


class MalformedMessage(ValueError):
    """A command or reply that can't be parsed."""


@dataclass(frozen=True, slots=True)
class CommandMessage:
    """A command on its way to the aggregate's single writer."""

    command_type: str
    aggregate_id: str
    payload: dict[str, Any]
    correlation_id: str
    reply_to: str
    idempotency_key: str | None = None
    request_fingerprint: str = ""
    expected_version: int | None = None
    traceparent: str | None = None

    def headers(self) -> Headers:
        """The routing facts as Kafka headers."""
        pairs: dict[str, str | None] = {
            COMMAND_TYPE: self.command_type,
            CORRELATION_ID: self.correlation_id,
            REPLY_TO: self.reply_to,
            IDEMPOTENCY_KEY: self.idempotency_key,
            REQUEST_FINGERPRINT: self.request_fingerprint,
            EXPECTED_VERSION: None if self.expected_version is None else str(self.expected_version),
            TRACEPARENT: self.traceparent,
        }
        return [(key, value.encode()) for key, value in pairs.items() if value is not None]

    def value(self) -> bytes:
        """The command's fields as JSON."""
        return json.dumps(self.payload, default=str, separators=(",", ":")).encode()

    @classmethod
    def parse(cls, key: bytes | None, value: bytes | None, headers: RawHeaders) -> CommandMessage:
        """Rebuild a command from a Kafka record."""
        command_type = header_value(headers, COMMAND_TYPE)
        correlation_id = header_value(headers, CORRELATION_ID)
        reply_to = header_value(headers, REPLY_TO)
        if not (command_type and correlation_id and reply_to and key):
            raise MalformedMessage("command lacks a key, type, correlation id or reply topic")
        try:
            payload = json.loads(value or b"")
            expected = header_value(headers, EXPECTED_VERSION)
            expected_version = int(expected) if expected is not None else None
        except ValueError as error:
            raise MalformedMessage(f"command {correlation_id}: {error}") from error
        if not isinstance(payload, dict):
            raise MalformedMessage(f"command {correlation_id}: body is not an object")
        return cls(
            command_type=command_type,
            aggregate_id=key.decode(),
            payload=payload,
            correlation_id=correlation_id,
            reply_to=reply_to,
            idempotency_key=header_value(headers, IDEMPOTENCY_KEY) or None,
            request_fingerprint=header_value(headers, REQUEST_FINGERPRINT) or "",
            expected_version=expected_version,
            traceparent=header_value(headers, TRACEPARENT),
        )


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's outcome, as the HTTP status and body the caller will see."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status < 300

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        return cls(int(data["status"]), dict(data["body"]))

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, value: bytes | None) -> Reply:
        try:
            return cls.from_json(json.loads(value or b""))
        except (ValueError, KeyError, TypeError) as error:
            raise MalformedMessage(f"unreadable reply: {error}") from error
