"""Maps failures to clear HTTP answers: 4xx naming the field, 503/504 for the store.

The models here are the bodies the API sends; `EDGE_RESPONSES` documents the answers any
route may give (every router is included with them), so the OpenAPI document tells the truth.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from eventstore.appender import AppendError
from producers.validation import storable_field_name

RETRY_AFTER_SECONDS = 1  # a refused write may be retried at once; a second spreads a crowd


class FieldProblem(BaseModel):
    """One invalid input: where it is (`items.0.quantity`, `order_id`) and what is wrong."""

    field: str
    message: str


class Problem(BaseModel):
    """Every 4xx and 5xx body: `detail` says what is wrong. Invalid input (422) lists the
    fields in `errors`; a domain refusal names its error and the aggregate's version."""

    detail: str
    errors: list[FieldProblem] | None = None
    error: str | None = None
    current_version: int | None = None


def retry_after_header(maximum: int = 60) -> dict[str, Any]:
    """The OpenAPI entry of a `Retry-After` header (seconds)."""
    return {
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum},
        }
    }


EDGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": Problem, "description": "Request body over the size limit"},
    422: {
        "model": Problem,
        "description": "Invalid input: the detail and `errors` name each field",
    },
}


def _field(location: tuple[Any, ...]) -> str:
    parts = [storable_field_name(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _invalid_request(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        field = _field(tuple(item.get("loc", ())))
        message = storable_field_name(item.get("msg", "invalid"), max_length=300)
        if item.get("type") == "json_invalid":
            reason = storable_field_name(item.get("ctx", {}).get("error", message))
            field, message = "body", f"malformed JSON: {reason}"
        problems.append({"field": field, "message": message})
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse(status_code=422, content={"detail": summary, "errors": problems})


async def _store_unavailable(_: Request, error: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={"detail": f"the event store did not acknowledge the write: {error}"},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(AppendError, _store_unavailable)
