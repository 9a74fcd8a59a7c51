"""The HTTP side of a command: idempotency key, request fingerprint, outcome to response."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from eventstore.aggregate import AggregateType
from producers.command_bus import CommandBus, CommandBusFull, CommandTimeout, Options
from producers.errors import RETRY_AFTER_SECONDS, Problem, retry_after_header
from producers.limits import CommandTooLarge
from producers.messages import OutcomeKind, Reply
from producers.metrics import command_outcomes, command_seconds

IDEMPOTENCY_HEADER = "Idempotency-Key"
POSITION_HEADER = "X-Skald-Position"
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, like Stripe's keys
_PLAIN_PATH = re.compile(r"/(?!/)[A-Za-z0-9_.:~/-]*")  # see request_path

# A context's HTTP statuses for its aggregate's domain errors, declared beside its routes.
Rejections = Mapping[type[Exception], int]


class CommandAccepted(BaseModel):
    """What an accepted command answers."""

    version: int = Field(description="The aggregate's version after the command")
    position: str | None = Field(
        description="Consistency token: where the last event landed (null if none was needed)"
    )
    events: list[str] = Field(description="Types of the events the command appended")


def accepted_responses(
    model: type[CommandAccepted], links: dict[str, Any] | None = None
) -> dict[int | str, dict[str, Any]]:
    """200 for a command on an existing aggregate, 201 for one that created it; `links`
    (see `links_by_id`) name the operations the answer's aggregate id leads to."""
    extra = {"links": links} if links else {}
    return {
        200: {"model": model, "description": "Accepted", **extra},
        201: {"model": model, "description": "Accepted; the command created it", **extra},
    }


def links_by_id(id_field: str, targets: list[tuple[str, str]]) -> dict[str, Any]:
    """OpenAPI links from an accepted command's `id_field` to (path, method) operations that
    take it as their path parameter: clients, and the contract fuzzer, follow them."""
    return {
        re.sub(r"[^A-Za-z0-9]+", "_", f"{method}{path}").strip("_"): {
            "operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method,
            "parameters": {id_field: f"$response.body#/{id_field}"},
        }
        for path, method in targets
    }


COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Unreadable command or Idempotency-Key"},
    404: {"model": Problem, "description": "The aggregate does not exist"},
    409: {"model": Problem, "description": "Wrong expected_version, or the state forbids it"},
    413: {"model": Problem, "description": "Body, or the command it becomes, over the limit"},
    422: {
        "model": Problem,
        "description": "Invalid input (`errors` names each field), or an Idempotency-Key "
        "already used for another request within the idempotency retention (24 h by default)",
    },
    503: {
        "model": Problem,
        "description": "Kafka did not accept the command, or its queue is full: retry after "
        "the Retry-After header's seconds",
        "headers": retry_after_header(),
    },
    504: {
        "model": Problem,
        "description": "No reply in time; retry with the Idempotency-Key (within the "
        "idempotency retention, 24 h by default) to learn the outcome",
    },
}


def options_for(request: Request, body: BaseModel | None, expected_version: int | None) -> Options:
    """Idempotency key (validated), request fingerprint and expected version."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not _KEY_PATTERN.match(key):
        raise HTTPException(400, f"{IDEMPOTENCY_HEADER} must be 1-200 visible ASCII characters")
    canonical = json.dumps(body.model_dump(mode="json") if body else None, sort_keys=True)
    fingerprint = hashlib.sha256(
        f"{request.method} {request_path(request)} {canonical}".encode()
    ).hexdigest()
    return Options(key, fingerprint, expected_version, request.headers.get("traceparent"))


def request_path(request: Request) -> str:
    """`request.url.path`, without building the URL for a path it leaves as it is.

    Starlette quotes `?`, `#` and `\\`, and URL parsing drops tabs and newlines and rewrites a
    leading `//` without a host; a path of only the characters below is none of those, and
    it is what every route's path parameters allow (identifiers). Stored fingerprints must
    stay byte for byte the same: any other path takes Starlette's way. Where that way raises
    (a server that names no host, and a path that URL parsing reads as an authority, like
    `/\t/[`), no fingerprint was ever stored: the path as received.
    """
    path: str = request.scope["path"]
    if _PLAIN_PATH.fullmatch(path):
        return path
    try:
        return request.url.path
    except ValueError:
        return path


async def execute(
    bus: CommandBus,
    aggregate: AggregateType[Any],
    command: object,
    options: Options,
    timeout: float,
    id_field: str,
    rejections: Rejections,
) -> JSONResponse:
    """Send the command and answer with its outcome; the aggregate id under `id_field`.

    `rejections` gives the status of the aggregate's domain errors (unlisted: 422).
    """
    started = time.perf_counter()
    try:
        reply = await bus.send(aggregate, command, options, timeout)
    except CommandTimeout as error:
        command_outcomes(aggregate.name, "504").inc()
        detail = f"{error}; the command may still be applied: retry with the same "
        detail += f"{IDEMPOTENCY_HEADER} to learn its outcome"
        return JSONResponse(status_code=504, content={"detail": detail})
    except CommandTooLarge as error:
        command_outcomes(aggregate.name, "413").inc()
        return JSONResponse(status_code=413, content={"detail": str(error)})
    except CommandBusFull as error:
        command_outcomes(aggregate.name, "503").inc()
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return JSONResponse(status_code=503, content={"detail": str(error)}, headers=retry)
    finally:
        command_seconds(aggregate.name).observe(time.perf_counter() - started)
    status, body = http_answer(reply, aggregate, rejections, id_field)
    command_outcomes(aggregate.name, str(status)).inc()
    headers = {POSITION_HEADER: reply.position} if reply.accepted and reply.position else {}
    return JSONResponse(status_code=status, content=body, headers=headers)


def http_answer(
    reply: Reply, aggregate: AggregateType[Any], rejections: Rejections, id_field: str
) -> tuple[int, dict[str, Any]]:
    """The status and body a command's outcome answers on HTTP."""
    match reply.kind:
        case OutcomeKind.ACCEPTED:
            accepted = {
                id_field: reply.aggregate_id,
                "version": reply.version,
                "position": reply.position,
                "events": list(reply.events),
            }
            return (201 if reply.created else 200), accepted
        case OutcomeKind.VERSION_CONFLICT:
            return 409, _problem(reply)
        case OutcomeKind.REJECTED:
            return rejection_status(aggregate.domain_error, reply.error, rejections), _problem(
                reply
            )
        case OutcomeKind.UNREADABLE:
            return 400, _problem(reply)
        case OutcomeKind.KEY_REUSED:
            return 422, _problem(reply)


def _problem(reply: Reply) -> dict[str, Any]:
    if reply.error is None:
        return {"detail": reply.detail}
    return {"detail": reply.detail, "error": reply.error, "current_version": reply.current_version}


def rejection_status(domain_error: type[Exception], name: str | None, table: Rejections) -> int:
    """The status of the named domain error: the most specific class in `table` wins."""
    error_class = _subclass_named(domain_error, name)
    for cls in error_class.__mro__ if error_class is not None else ():
        if cls in table:
            return table[cls]
    return 422


def _subclass_named(root: type[Exception], name: str | None) -> type[Exception] | None:
    """`root` or the subclass of it with this name (the reply carries only the name)."""
    if root.__name__ == name:
        return root
    for sub in root.__subclasses__():
        found = _subclass_named(sub, name)
        if found is not None:
            return found
    return None
