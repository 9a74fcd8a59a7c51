"""Maps failures to clear HTTP answers: 4xx naming the field, 503/504 for the store."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from eventstore.appender import AppendError


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _invalid_request(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        field = _field(tuple(item.get("loc", ())))
        message = item.get("msg", "invalid")
        if item.get("type") == "json_invalid":
            field, message = "body", f"malformed JSON: {item.get('ctx', {}).get('error', message)}"
        problems.append({"field": field, "message": message})
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return JSONResponse(status_code=422, content={"detail": summary, "errors": problems})


async def _store_unavailable(_: Request, error: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={"detail": f"the event store did not acknowledge the write: {error}"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(AppendError, _store_unavailable)
