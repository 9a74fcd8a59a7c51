"""ECS task definitions for Skald's roles: one image, one task role per role, settings as the
same `SKALD_*` variables as everywhere, secrets injected by ECS from Secrets Manager."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from skald_aws.kafka import KafkaCluster
from skald_aws.kafka_access import KafkaGrant, statements
from skald_aws.roles import METRICS_PORT

METRICS_LOG_GROUP_PREFIX = "/skald"  # the collector writes /skald/<namespace>/projector


@dataclass(frozen=True, slots=True)
class TaskSettings:
    """What every task of one deployment shares."""

    image: ecs.ContainerImage
    namespace: str
    kafka: KafkaCluster
    environment: dict[str, str]  # SKALD_* for every role
    read_model_environment: dict[str, str]  # SKALD_PG_DSN and the OpenSearch endpoint
    read_model_secrets: dict[str, ecs.Secret] = field(default_factory=dict)
    otel_collector_image: str = ""


def task_role(
    scope: Construct, construct_id: str, kafka: KafkaCluster, namespace: str, grant: KafkaGrant
) -> iam.Role:
    """A role ECS tasks assume, holding only this role's Kafka grant. Inline, so the grant
    exists as soon as the role does (a task never starts before its permissions)."""
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        inline_policies={
            "kafka": iam.PolicyDocument(statements=statements(kafka, namespace, grant))
        },
    )


class SkaldTask(Construct):
    """A Fargate task definition running `skald <command>` containers."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: TaskSettings,
        grant: KafkaGrant,
        read_models: bool,
        cpu: int,
        memory_mib: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        self._read_models = read_models
        self.grant = grant
        self.role = task_role(self, "TaskRole", settings.kafka, settings.namespace, grant)
        self.definition = ecs.FargateTaskDefinition(
            self,
            "Definition",
            cpu=cpu,
            memory_limit_mib=memory_mib,
            task_role=self.role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.logs = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_MONTH)

    def add_skald(
        self,
        name: str,
        command: tuple[str, ...],
        *,
        essential: bool = True,
        extra_environment: dict[str, str] | None = None,
        port: int | None = None,
    ) -> ecs.ContainerDefinition:
        """A container running `skald <command>` with this deployment's settings."""
        environment = dict(self._settings.environment)
        secrets: dict[str, ecs.Secret] = {}
        if self._read_models:
            environment.update(self._settings.read_model_environment)
            secrets.update(self._settings.read_model_secrets)
        environment.update(extra_environment or {})
        container = self.definition.add_container(
            name,
            image=self._settings.image,
            command=list(command),
            essential=essential,
            environment=environment,
            secrets=secrets,
            logging=ecs.LogDriver.aws_logs(stream_prefix=name, log_group=self.logs),
            port_mappings=[ecs.PortMapping(container_port=port)] if port else None,
        )
        return container

    def add_metrics_sidecar(self, namespace: str) -> None:
        """An OpenTelemetry collector that scrapes the Prometheus port and writes the alarmed
        series to CloudWatch (embedded metric format) in `Skald/<namespace>`."""
        group = logs.LogGroup(
            self,
            "Metrics",
            log_group_name=f"{METRICS_LOG_GROUP_PREFIX}/{namespace}/projector",
            retention=logs.RetentionDays.ONE_MONTH,
        )
        group.grant_write(self.role)
        self.definition.add_container(
            "metrics",
            image=ecs.ContainerImage.from_registry(self._settings.otel_collector_image),
            essential=False,  # losing metrics must not stop the projectors
            environment={"AOT_CONFIG_CONTENT": collector_config(namespace, group.log_group_name)},
            logging=ecs.LogDriver.aws_logs(stream_prefix="metrics", log_group=self.logs),
        )


def collector_config(namespace: str, log_group: str) -> str:
    """The collector's pipeline: Prometheus on localhost -> CloudWatch, by projection."""
    return f"""receivers:
  prometheus:
    config:
      scrape_configs:
        - job_name: skald
          scrape_interval: 30s
          static_configs:
            - targets: ["localhost:{METRICS_PORT}"]
exporters:
  awsemf:
    namespace: Skald/{namespace}
    log_group_name: {log_group}
    dimension_rollup_option: NoDimensionRollup
    metric_declarations:
      - dimensions: [[projection]]
        metric_name_selectors:
          - "^skald_projection_lag_events$"
          - "^skald_projection_dead_letters_total$"
service:
  pipelines:
    metrics:
      receivers: [prometheus]
      exporters: [awsemf]
"""


def secret_field(secret: secretsmanager.ISecret, key: str) -> ecs.Secret:
    """One JSON field of a secret, injected at task start (so rotation needs a redeploy)."""
    return ecs.Secret.from_secrets_manager(secret, key)
