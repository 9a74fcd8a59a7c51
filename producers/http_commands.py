"""The HTTP side of a command: idempotency key, request fingerprint, reply to response."""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from eventstore.aggregate import AggregateType
from producers.command_bus import CommandBus, CommandTimeout, Options
from producers.metrics import COMMAND_SECONDS, COMMANDS

IDEMPOTENCY_HEADER = "Idempotency-Key"
POSITION_HEADER = "X-Skald-Position"
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, like Stripe's keys


class CommandAccepted(BaseModel):
    """What an accepted command answers."""

    version: int = Field(description="The aggregate's version after the command")
    position: str | None = Field(
        description="Consistency token: where the last event landed (null if none was needed)"
    )
    events: list[str] = Field(description="Types of the events the command appended")


class Problem(BaseModel):
    """A refused or failed command."""

    detail: str
    error: str | None = None
    current_version: int | None = None


COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Unreadable command or Idempotency-Key"},
    404: {"model": Problem, "description": "The aggregate does not exist"},
    409: {"model": Problem, "description": "Wrong expected_version, or the state forbids it"},
    413: {"model": Problem, "description": "Body over the size limit"},
    422: {"model": Problem, "description": "Invalid input (field named in the message)"},
    503: {"model": Problem, "description": "Kafka did not accept the command"},
    504: {"model": Problem, "description": "No reply in time; retry with the Idempotency-Key"},
}


def options_for(request: Request, body: BaseModel | None, expected_version: int | None) -> Options:
    """Idempotency key (validated), request fingerprint and expected version."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not _KEY_PATTERN.match(key):
        raise HTTPException(400, f"{IDEMPOTENCY_HEADER} must be 1-200 visible ASCII characters")
    canonical = json.dumps(body.model_dump(mode="json") if body else None, sort_keys=True)
    fingerprint = hashlib.sha256(
        f"{request.method} {request.url.path} {canonical}".encode()
    ).hexdigest()
    return Options(key, fingerprint, expected_version, request.headers.get("traceparent"))


async def execute(
    bus: CommandBus,
    aggregate: AggregateType[Any],
    command: object,
    options: Options,
    timeout: float,
    id_field: str,
) -> JSONResponse:
    """Send the command and answer with its reply; the aggregate id under `id_field`."""
    started = time.perf_counter()
    try:
        reply = await bus.send(aggregate, command, options, timeout)
    except CommandTimeout as error:
        COMMANDS.labels(aggregate.name, "504").inc()
        detail = f"{error}; the command may still be applied: retry with the same "
        detail += f"{IDEMPOTENCY_HEADER} to learn its outcome"
        return JSONResponse(status_code=504, content={"detail": detail})
    finally:
        COMMAND_SECONDS.labels(aggregate.name).observe(time.perf_counter() - started)
    COMMANDS.labels(aggregate.name, str(reply.status)).inc()
    body = dict(reply.body)
    headers = {}
    if reply.accepted:
        body = {id_field: body.pop("id"), **body}
        if body.get("position"):
            headers[POSITION_HEADER] = body["position"]
    return JSONResponse(status_code=reply.status, content=body, headers=headers)
