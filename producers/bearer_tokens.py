"""Bearer JWT validation: signature by a key from a JWKS URL (Amazon Cognito's, or any
OpenID provider's), issuer, audience, expiry, and the scopes a token grants.

A verified token is `Claims`; every refusal is `InvalidToken` (answered 401) with a sentence
that says what was wrong, never the token itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

# Asymmetric only: a JWKS publishes public keys, and "none" or HMAC must never verify.
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
LEEWAY_SECONDS = 30  # clocks of the issuer and this host may differ a little


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired, or for someone else (401)."""


class SigningKeysUnavailable(Exception):
    """The JWKS URL could not be read: Skald cannot tell a good token from a bad one (503)."""


@dataclass(frozen=True, slots=True)
class TokenRules:
    """What a token must satisfy. `audience` matches `aud`, or `client_id` in a Cognito
    access token (which carries no `aud`)."""

    jwks_url: str
    issuer: str
    audience: str


@dataclass(frozen=True, slots=True)
class Claims:
    """A verified token: who (`sub`) and which scopes it grants."""

    subject: str
    scopes: frozenset[str]


class TokenVerifier:
    """Verifies bearer tokens against the rules; keys are fetched from the JWKS URL and cached
    (PyJWKClient refetches the set when a token names a key id it has not seen: rotation)."""

    def __init__(self, rules: TokenRules, jwks: jwt.PyJWKClient | None = None) -> None:
        self._rules = rules
        self._jwks = jwks or jwt.PyJWKClient(rules.jwks_url, lifespan=300, timeout=5)

    def verify(self, token: str) -> Claims:
        """The token's claims; `InvalidToken` or `SigningKeysUnavailable` otherwise."""
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as error:
            raise SigningKeysUnavailable(f"cannot read the signing keys: {error}") from error
        except (jwt.PyJWKClientError, jwt.DecodeError) as error:
            raise InvalidToken(f"no signing key for this token: {_reason(error)}") from error
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                issuer=self._rules.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss"], "verify_aud": False},  # checked below
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("the token has expired") from error
        except jwt.InvalidIssuerError as error:
            raise InvalidToken(f"the token was not issued by {self._rules.issuer}") from error
        except jwt.PyJWTError as error:
            raise InvalidToken(f"invalid token: {_reason(error)}") from error
        if not _for_audience(claims, self._rules.audience):
            raise InvalidToken(f"the token is not for the audience {self._rules.audience}")
        return Claims(str(claims.get("sub", "")), _scopes(claims))


def _for_audience(claims: Mapping[str, Any], audience: str) -> bool:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else list(aud or [])
    if claims.get("token_use") == "access":  # Cognito: the app client is `client_id`
        audiences.append(claims.get("client_id"))
    return audience in audiences


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """`scope` is space-separated (RFC 8693, Cognito); some issuers use an `scp` list."""
    found: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(str(v) for v in value)
    return frozenset(found)


def _reason(error: Exception) -> str:
    return str(error)[:200] or type(error).__name__
