"""Command and reply messages on Kafka: JSON bodies, routing facts in headers.

Commands are internal, short-lived requests (not the storage contract), so JSON suffices;
events stay Avro.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eventstore.envelope import Headers, RawHeaders, header_value

COMMAND_TYPE = "skald_command_type"
CORRELATION_ID = "skald_correlation_id"
REPLY_TO = "skald_reply_to"
REPLY_KEY = "skald_reply_key"
IDEMPOTENCY_KEY = "skald_idempotency_key"
REQUEST_FINGERPRINT = "skald_request_fingerprint"
EXPECTED_VERSION = "skald_expected_version"
TRACEPARENT = "traceparent"


# Kafka's legal topic names. A reply topic outside them would fail the writer's transaction
# on every retry: such a command is skipped, never answered.
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


def is_topic_name(name: str) -> bool:
    """Whether Kafka accepts `name` as a topic."""
    return _TOPIC_NAME.fullmatch(name) is not None


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
    # The reply's record key (default: the correlation id). A process manager names its own
    # key, e.g. its instance id, so the reply lands co-partitioned with its state.
    reply_key: str | None = None

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
            REPLY_KEY: self.reply_key,
        }
        return [(key, value.encode()) for key, value in pairs.items() if value is not None]

    def value(self) -> bytes:
        """The command's fields as JSON."""
        # UTF-8 as it is: escaping (`\ud83d\ude00` for one emoji) would triple the size.
        payload = json.dumps(self.payload, default=str, separators=(",", ":"), ensure_ascii=False)
        return payload.encode()

    @classmethod
    def parse(cls, key: bytes | None, value: bytes | None, headers: RawHeaders) -> CommandMessage:
        """Rebuild a command from a Kafka record."""
        command_type = header_value(headers, COMMAND_TYPE)
        correlation_id = header_value(headers, CORRELATION_ID)
        reply_to = header_value(headers, REPLY_TO)
        if not (command_type and correlation_id and reply_to and key):
            raise MalformedMessage("command lacks a key, type, correlation id or reply topic")
        if not is_topic_name(reply_to):
            raise MalformedMessage(f"command {correlation_id}: {reply_to!r} is not a topic name")
        try:
            payload = json.loads(value or b"")
            expected = header_value(headers, EXPECTED_VERSION)
            expected_version = int(expected) if expected is not None else None
            aggregate_id = key.decode()
        except (ValueError, RecursionError) as error:  # RecursionError: absurd nesting
            raise MalformedMessage(f"command {correlation_id}: {error}") from error
        if not isinstance(payload, dict):
            raise MalformedMessage(f"command {correlation_id}: body is not an object")
        if expected_version is not None and not 0 <= expected_version < 2**31:
            raise MalformedMessage(f"command {correlation_id}: expected version out of range")
        return cls(
            command_type=command_type,
            aggregate_id=aggregate_id,
            payload=payload,
            correlation_id=correlation_id,
            reply_to=reply_to,
            idempotency_key=header_value(headers, IDEMPOTENCY_KEY) or None,
            request_fingerprint=header_value(headers, REQUEST_FINGERPRINT) or "",
            expected_version=expected_version,
            traceparent=header_value(headers, TRACEPARENT),
            reply_key=header_value(headers, REPLY_KEY) or None,
        )


class OutcomeKind(StrEnum):
    """What became of a command, in domain terms; the HTTP layer picks the status."""

    ACCEPTED = "accepted"  # decided; its events (maybe none) are committed
    REJECTED = "rejected"  # the decider raised a domain error (`error` names its class)
    VERSION_CONFLICT = "version_conflict"  # expected_version was not the current version
    UNREADABLE = "unreadable"  # the command could not be parsed or is not this aggregate's
    KEY_REUSED = "key_reused"  # the idempotency key answered a different request before


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's outcome on the reply topic, also remembered per idempotency key.

    Accepted: `aggregate_id`, `created` (the command created the aggregate), `version` after
    it, `events` (type names) and `position` (consistency token of the last event, or None).
    Otherwise: `detail`; rejections and conflicts add `error` (the domain error's class
    name, or WrongExpectedVersion) and `current_version`.
    """

    kind: OutcomeKind
    aggregate_id: str | None = None
    created: bool = False
    version: int | None = None
    events: tuple[str, ...] = ()
    position: str | None = None
    error: str | None = None
    detail: str | None = None
    current_version: int | None = None

    @property
    def accepted(self) -> bool:
        return self.kind is OutcomeKind.ACCEPTED

    def to_json(self) -> dict[str, Any]:
        """Every field that is set (None is left out, so the JSON says only what applies)."""
        data: dict[str, Any] = {"kind": self.kind.value}
        for name in _OPTIONAL_FIELDS:
            value = getattr(self, name)
            if value is not None and value != () and value is not False:
                data[name] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        if "kind" not in data:
            return _from_http_shaped(data)
        return cls(
            OutcomeKind(data["kind"]),
            aggregate_id=data.get("aggregate_id"),
            created=bool(data.get("created", False)),
            version=data.get("version"),
            events=tuple(str(name) for name in data.get("events", ())),
            position=data.get("position"),
            error=data.get("error"),
            detail=data.get("detail"),
            current_version=data.get("current_version"),
        )

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, value: bytes | None) -> Reply:
        try:
            return cls.from_json(json.loads(value or b""))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise MalformedMessage(f"unreadable reply: {error}") from error


_OPTIONAL_FIELDS = (
    "aggregate_id",
    "created",
    "version",
    "events",
    "position",
    "error",
    "detail",
    "current_version",
)


def _from_http_shaped(data: dict[str, Any]) -> Reply:
    """An outcome written before replies were domain outcomes (`{"status", "body"}`).

    Snapshots remember outcomes per idempotency key, so these are read for as long as a
    snapshot written before the change is the aggregate's latest.
    """
    status, body = int(data["status"]), dict(data["body"])
    if status < 300:
        return Reply(
            OutcomeKind.ACCEPTED,
            aggregate_id=body.get("id"),
            created=status == 201,
            version=body.get("version"),
            events=tuple(body.get("events") or ()),
            position=body.get("position"),
        )
    error = body.get("error")
    if error == "WrongExpectedVersion":
        kind = OutcomeKind.VERSION_CONFLICT
    elif error is not None:
        kind = OutcomeKind.REJECTED
    else:
        kind = OutcomeKind.UNREADABLE if status == 400 else OutcomeKind.KEY_REUSED
    return Reply(
        kind,
        error=error,
        detail=body.get("detail"),
        current_version=body.get("current_version"),
    )
