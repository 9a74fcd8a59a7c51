"""The deployment's parameters, read once from CDK context (`cdk.json` or `-c key=value`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs import Node

# The same rule as `SKALD_NAMESPACE` in skald/settings.py, but never empty: every IAM grant
# below is scoped by this prefix, so an empty one would grant the whole cluster.
NAMESPACE_PATTERN = re.compile(r"^[a-z0-9_]+$")


class ConfigError(ValueError):
    """A context value is missing or malformed; the message names the key and the fix."""


@dataclass(frozen=True, slots=True)
class DeploymentConfig:
    """What differs between one Skald deployment and another."""

    namespace: str
    region: str
    account: str | None
    certificate_arn: str
    image: str | None  # an image URI; None builds deploy/aws/Dockerfile at deploy time
    broker_instance_type: str
    broker_volume_gib: int
    topic_partitions: int
    api_count: int
    processor_count: int
    projector_count: int
    worker_count: int
    alarm_email: str | None
    jwt_issuer: str | None  # an external identity provider; None creates a Cognito user pool
    jwt_audience: str | None
    otel_collector_image: str
    zones: tuple[str, ...] = ()  # explicit zone names; empty: the region's a, b and c

    @property
    def cluster_name(self) -> str:
        """The MSK cluster's name: alarms and IAM ARNs are built from it."""
        return f"skald-{self.namespace.replace('_', '-')}"

    @property
    def availability_zones(self) -> list[str]:
        """Three zones, named without a lookup so synth needs no credentials: the region's
        a, b and c unless `-c availabilityZones=...` names others (not every region has c)."""
        return list(self.zones) or [f"{self.region}{suffix}" for suffix in "abc"]

    @classmethod
    def from_context(cls, node: Node) -> DeploymentConfig:
        """Read and check every parameter; raise ConfigError naming the first bad one."""

        def get(key: str, default: str | None = None) -> str | None:
            value = node.try_get_context(key)
            return default if value in (None, "") else str(value)

        def need(key: str, hint: str) -> str:
            value = get(key)
            if value is None:
                raise ConfigError(f"context '{key}' is required: {hint}")
            return value

        def count(key: str, default: int, minimum: int = 1) -> int:
            raw = get(key, str(default))
            assert raw is not None
            if not raw.isdigit() or int(raw) < minimum:
                raise ConfigError(f"context '{key}' must be an integer >= {minimum}, not {raw!r}")
            return int(raw)

        namespace = need(
            "namespace", "the SKALD_NAMESPACE of this deployment, e.g. -c namespace=prod"
        )
        if not NAMESPACE_PATTERN.match(namespace):
            raise ConfigError(
                f"context 'namespace' must match {NAMESPACE_PATTERN.pattern}, not {namespace!r}"
            )
        region = need("region", "e.g. -c region=eu-west-1 (or set CDK_DEFAULT_REGION)")
        certificate_arn = need(
            "certificateArn", "an ACM certificate ARN in the region for the API's HTTPS listener"
        )
        if not certificate_arn.startswith("arn:"):
            raise ConfigError(f"context 'certificateArn' is not an ARN: {certificate_arn!r}")
        jwt_issuer = get("jwtIssuer")
        jwt_audience = get("jwtAudience")
        if bool(jwt_issuer) != bool(jwt_audience):
            raise ConfigError("contexts 'jwtIssuer' and 'jwtAudience' go together (or neither)")
        zones = tuple(z.strip() for z in (get("availabilityZones") or "").split(",") if z.strip())
        if zones and (len(zones) != 3 or not all(z.startswith(region) for z in zones)):
            raise ConfigError(
                f"context 'availabilityZones' must name three zones of {region}, not {zones}"
            )
        return cls(
            zones=zones,
            namespace=namespace,
            region=region,
            account=get("account"),
            certificate_arn=certificate_arn,
            image=get("image"),
            broker_instance_type=get("brokerInstanceType", "kafka.m7g.large") or "",
            broker_volume_gib=count("brokerVolumeGiB", 1000),
            topic_partitions=count("topicPartitions", 6),
            api_count=count("apiCount", 2),
            processor_count=count("processorCount", 2),
            projector_count=count("projectorCount", 2),
            worker_count=count("workerCount", 2),
            alarm_email=get("alarmEmail"),
            jwt_issuer=jwt_issuer,
            jwt_audience=jwt_audience,
            otel_collector_image=get(
                "otelCollectorImage", "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
            )
            or "",
        )
