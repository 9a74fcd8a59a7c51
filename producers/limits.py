"""Size limits at the door: request bodies (ASGI middleware, 413 before parsing) and the
command records they become (checked before Kafka sees them)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eventstore.envelope import Headers
from eventstore.kafka_config import MAX_MESSAGE_BYTES


class BodySizeLimit:
    """Checks Content-Length up front, then reads the body (chunked or not) up to the limit
    before the app sees it, so no handler ever parses an oversized payload."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
            await self._refuse(send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away mid-body: never hand a partial body on
            body += message.get("body", b"")
            if len(body) > self._max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self._app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        detail = f"request body exceeds the {self._max_bytes}-byte limit"
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# A command record's largest size. Its events and the aggregate's snapshot carry the same
# data again, each in a record of its own with envelope headers, and each must stay under
# Kafka's record limit: half of it leaves them that room.
MAX_COMMAND_BYTES = MAX_MESSAGE_BYTES // 2


class CommandTooLarge(ValueError):
    """A request under the HTTP body limit whose command would not fit in a Kafka record."""


def check_command_size(
    key: bytes, value: bytes, headers: Headers, limit: int = MAX_COMMAND_BYTES
) -> None:
    """Refuse a command record over `limit` bytes (key, JSON body and headers)."""
    size = len(key) + len(value)
    for name, data in headers:
        size += len(name) + len(data if isinstance(data, bytes) else (data or "").encode())
    if size > limit:
        raise CommandTooLarge(f"the command encodes to {size} bytes, over the {limit}-byte limit")
