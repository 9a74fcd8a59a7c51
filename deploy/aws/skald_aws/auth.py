"""Bearer-JWT settings for the API: a Cognito user pool made here, or an external issuer.

Cognito gives a resource server with two scopes (commands vs queries) and one machine client
(OAuth client credentials). The variable names are the API's (issue 13, item 5); they are
all in AUTH_ENV_NAMES so a rename happens in one place.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

RESOURCE_SERVER = "skald"
COMMANDS_SCOPE = "commands"
QUERIES_SCOPE = "queries"
AUTH_ENV_NAMES = {
    "jwks_url": "SKALD_AUTH_JWKS_URL",
    "issuer": "SKALD_AUTH_ISSUER",
    "audience": "SKALD_AUTH_AUDIENCE",
    "commands_scope": "SKALD_AUTH_COMMANDS_SCOPE",
    "queries_scope": "SKALD_AUTH_QUERIES_SCOPE",
}


def external_auth_environment(issuer: str, audience: str) -> dict[str, str]:
    """An identity provider outside this stack: its JWKS at the OIDC well-known path."""
    issuer = issuer.rstrip("/")
    return {
        AUTH_ENV_NAMES["jwks_url"]: f"{issuer}/.well-known/jwks.json",
        AUTH_ENV_NAMES["issuer"]: issuer,
        AUTH_ENV_NAMES["audience"]: audience,
        AUTH_ENV_NAMES["commands_scope"]: f"{RESOURCE_SERVER}/{COMMANDS_SCOPE}",
        AUTH_ENV_NAMES["queries_scope"]: f"{RESOURCE_SERVER}/{QUERIES_SCOPE}",
    }


class UserPool(Construct):
    """A Cognito user pool that issues the API's access tokens."""

    def __init__(self, scope: Construct, construct_id: str, *, domain_prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.pool = cognito.UserPool(
            self,
            "Pool",
            self_sign_up_enabled=False,  # callers are provisioned, never sign themselves up
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            feature_plan=cognito.FeaturePlan.PLUS,  # threat protection (advanced security)
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=RemovalPolicy.RETAIN,
        )
        commands = cognito.ResourceServerScope(
            scope_name=COMMANDS_SCOPE, scope_description="send commands (POST routes)"
        )
        queries = cognito.ResourceServerScope(
            scope_name=QUERIES_SCOPE, scope_description="read models (GET routes)"
        )
        server = self.pool.add_resource_server(
            "ResourceServer", identifier=RESOURCE_SERVER, scopes=[commands, queries]
        )
        self.pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        self.client = self.pool.add_client(
            "Service",
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[
                    cognito.OAuthScope.resource_server(server, commands),
                    cognito.OAuthScope.resource_server(server, queries),
                ],
            ),
        )

    def environment(self) -> dict[str, str]:
        """The API's JWT settings. Cognito access tokens carry `client_id`, not `aud`: the
        audience is the app client's id."""
        region = Stack.of(self).region
        issuer = f"https://cognito-idp.{region}.amazonaws.com/{self.pool.user_pool_id}"
        return {
            AUTH_ENV_NAMES["jwks_url"]: f"{issuer}/.well-known/jwks.json",
            AUTH_ENV_NAMES["issuer"]: issuer,
            AUTH_ENV_NAMES["audience"]: self.client.user_pool_client_id,
            AUTH_ENV_NAMES["commands_scope"]: f"{RESOURCE_SERVER}/{COMMANDS_SCOPE}",
            AUTH_ENV_NAMES["queries_scope"]: f"{RESOURCE_SERVER}/{QUERIES_SCOPE}",
        }
