"""Where a Kafka cluster is and how to authenticate to it: plain values, no settings object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from eventstore.oauth_tokens import TokenSource, msk_iam_tokens

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"]
Auth = Literal["none", "msk-iam"]


@dataclass(frozen=True, slots=True)
class KafkaConnection:
    """What every client (confluent-kafka or aiokafka) needs to reach the cluster.

    `auth="msk-iam"` means SASL/OAUTHBEARER with IAM tokens over TLS and needs `aws_region`.
    `token_source` supplies OAUTHBEARER tokens from elsewhere (tests inject tokens that expire
    in seconds); with it, clients use OAUTHBEARER over `security_protocol`.
    """

    bootstrap: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    auth: Auth = "none"
    ssl_ca_location: str | None = None
    aws_region: str | None = None
    token_source: TokenSource | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.auth == "msk-iam" and not self.aws_region:
            raise ValueError("msk-iam authentication needs an AWS region")

    def oauth_tokens(self) -> TokenSource | None:
        """Where OAUTHBEARER tokens come from; None when the cluster wants none."""
        if self.token_source is not None:
            return self.token_source
        if self.auth == "msk-iam":
            assert self.aws_region is not None  # enforced above
            return msk_iam_tokens(self.aws_region)
        return None

    @property
    def sasl_protocol(self) -> SecurityProtocol:
        """The protocol OAUTHBEARER runs over: IAM auth only exists over TLS."""
        return "SASL_SSL" if self.auth == "msk-iam" else self.security_protocol
