"""Who may call the API: a bearer JWT with the commands scope for writes and the queries
scope for reads. Off unless configured (`SKALD_AUTH_JWKS_URL`); `/health`, `/metrics` and the
OpenAPI document stay open for load balancers, scrapers and clients.
"""

# No `from __future__ import annotations`: FastAPI must resolve the dependency's annotation,
# which names a local (`bearer`).
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from producers.bearer_tokens import Claims, InvalidToken, SigningKeysUnavailable, TokenVerifier
from producers.errors import RETRY_AFTER_SECONDS, Problem, retry_after_header

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class ApiAuth:
    """How requests are authorized: the verifier and the scope each kind of route needs."""

    verifier: TokenVerifier
    commands_scope: str
    queries_scope: str

    def scope_for(self, method: str) -> str:
        """Reads need the queries scope; everything else changes state: commands."""
        return self.queries_scope if method.upper() in READ_METHODS else self.commands_scope


_CHALLENGE = {
    "WWW-Authenticate": {
        "description": "RFC 6750 challenge: `error` and `error_description` or `scope`",
        "schema": {"type": "string"},
    }
}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": Problem,
        "description": "No bearer token, or one that is malformed, forged, expired or for "
        "another issuer or audience",
        "headers": _CHALLENGE,
    },
    403: {
        "model": Problem,
        "description": "The token lacks this route's scope (commands or queries)",
        "headers": _CHALLENGE,
    },
    503: {
        "model": Problem,
        "description": "Unavailable (the token's signing keys could not be read, or the store "
        "did not answer): retry after `Retry-After` seconds",
        "headers": retry_after_header(),
    },
}


def authorization(auth: ApiAuth) -> Callable[..., Claims]:
    """A dependency for every API route: the verified caller, or 401/403 with a clear detail."""
    bearer = HTTPBearer(
        auto_error=False,  # our own 401 body and challenge, not FastAPI's 403
        scheme_name="bearer",
        bearerFormat="JWT",
        description="An access token with the `commands` scope (writes) or `queries` (reads)",
    )

    # A plain function: FastAPI runs it in a thread, so a JWKS fetch never blocks the loop.
    def authorize(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Claims:
        if credentials is None or not credentials.credentials:
            raise _unauthorized("this route needs a bearer token (Authorization: Bearer <JWT>)")
        try:
            claims = auth.verifier.verify(credentials.credentials)
        except InvalidToken as error:
            raise _unauthorized(str(error)) from None
        except SigningKeysUnavailable as error:
            raise HTTPException(
                503, str(error), headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            ) from None
        scope = auth.scope_for(request.method)
        if scope not in claims.scopes:
            raise HTTPException(
                403,
                f"the token lacks the scope {scope} this route needs",
                headers={
                    "WWW-Authenticate": f'Bearer realm="skald", error="insufficient_scope", '
                    f'scope="{_quoted(scope)}"'
                },
            )
        return claims

    return authorize


def _unauthorized(detail: str) -> HTTPException:
    challenge = (
        f'Bearer realm="skald", error="invalid_token", error_description="{_quoted(detail)}"'
    )
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


def _quoted(text: str) -> str:
    """A header's quoted-string: printable ASCII without quotes or backslashes."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')[:200]
