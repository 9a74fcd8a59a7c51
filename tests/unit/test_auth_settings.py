"""Authentication settings: off unless a JWKS URL is set, complete when on, and a bad
setting is one line naming the variable, not a traceback."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from skald.cli import app
from skald.settings import Settings


def test_auth_is_off_by_default() -> None:
    assert Settings(_env_file=None).token_rules() is None


def test_auth_on_names_issuer_audience_and_the_two_scopes() -> None:
    settings = Settings(
        _env_file=None,
        auth_jwks_url="https://issuer.test/.well-known/jwks.json",
        auth_issuer="https://issuer.test",
        auth_audience="client-1",
    )
    rules = settings.token_rules()
    assert rules is not None
    assert (rules.issuer, rules.audience) == ("https://issuer.test", "client-1")
    assert (settings.auth_commands_scope, settings.auth_queries_scope) == (
        "skald/commands",
        "skald/queries",
    )


def test_a_jwks_url_without_issuer_and_audience_is_refused() -> None:
    with pytest.raises(ValidationError, match="SKALD_AUTH_ISSUER and SKALD_AUTH_AUDIENCE"):
        Settings(_env_file=None, auth_jwks_url="https://issuer.test/jwks")


def test_the_cli_reports_bad_settings_in_one_line_and_exits_1() -> None:
    result = CliRunner().invoke(
        app, ["topics", "plan"], env={"SKALD_AUTH_JWKS_URL": "https://issuer.test/jwks"}
    )
    assert result.exit_code == 1
    assert "invalid settings: SKALD_AUTH_JWKS_URL needs" in result.output
    assert "Traceback" not in result.output
