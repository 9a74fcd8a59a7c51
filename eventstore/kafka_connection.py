"""Where a Kafka cluster is and how to authenticate to it: plain values, no settings object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_SSL"]
Auth = Literal["none", "msk-iam"]


@dataclass(frozen=True, slots=True)
class KafkaConnection:
    """What every client (confluent-kafka or aiokafka) needs to reach the cluster.

    `auth="msk-iam"` means SASL/OAUTHBEARER with IAM tokens over TLS and needs `aws_region`.
    """

    bootstrap: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    auth: Auth = "none"
    ssl_ca_location: str | None = None
    aws_region: str | None = None

    def __post_init__(self) -> None:
        if self.auth == "msk-iam" and not self.aws_region:
            raise ValueError("msk-iam authentication needs an AWS region")
