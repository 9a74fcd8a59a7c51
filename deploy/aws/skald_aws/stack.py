"""One stack: network, MSK, read-model stores, auth, the migration task, the services, alarms."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from skald_aws import declared, roles
from skald_aws.alarms import Alarms, Watched
from skald_aws.auth import UserPool, external_auth_environment
from skald_aws.config import DeploymentConfig
from skald_aws.datastores import SEARCH_USER, Postgres, Search
from skald_aws.kafka import KafkaCluster
from skald_aws.migration import Migration
from skald_aws.network import KAFKA_IAM_PORT, OPENSEARCH_PORT, POSTGRES_PORT, Network
from skald_aws.services import ApiLoadBalancer, SkaldService
from skald_aws.tasks import TaskSettings, secret_field

REPO_ROOT = Path(__file__).resolve().parents[3]
# Kept out of the image's build context: local state, caches, the CDK's own output.
IMAGE_EXCLUDES = [
    ".git", ".venv", ".stack", "**/__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
    "**/cdk.out", "bench-results", ".schemathesis", "tests", "bench", "**/node_modules",
]  # fmt: skip


def namespaced(namespace: str, name: str) -> str:
    """skald/settings.py's rule for topics and groups (namespace is never empty here)."""
    return f"{namespace}.{name}"


class SkaldStack(Stack):
    """Everything one Skald deployment needs, parameterised by DeploymentConfig."""

    def __init__(self, scope: Construct, construct_id: str, config: DeploymentConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            description=f"Skald event sourcing on MSK (namespace {config.namespace})",
        )
        self.config = config
        self.network = network = Network(self, "Network", config.availability_zones)
        groups = network.groups
        kafka_group = network.data_store_group(
            "KafkaBrokers", KAFKA_IAM_PORT, groups.all(), "MSK IAM/TLS"
        )
        db_group = network.data_store_group(
            "PostgresClients", POSTGRES_PORT, groups.with_read_models(), "PostgreSQL"
        )
        search_group = network.data_store_group(
            "OpenSearchClients", OPENSEARCH_PORT, groups.with_read_models(), "OpenSearch HTTPS"
        )
        self.kafka = KafkaCluster(
            self,
            "Kafka",
            cluster_name=config.cluster_name,
            vpc=network.vpc,
            security_group=kafka_group,
            instance_type=config.broker_instance_type,
            volume_gib=config.broker_volume_gib,
        )
        self.postgres = postgres = Postgres(
            self,
            "Postgres",
            identifier=config.cluster_name,
            vpc=network.vpc,
            security_group=db_group,
        )
        self.search = search = Search(self, "Search", vpc=network.vpc, security_group=search_group)

        if config.jwt_issuer and config.jwt_audience:
            auth_environment = external_auth_environment(config.jwt_issuer, config.jwt_audience)
        else:
            pool = UserPool(self, "Auth", domain_prefix=config.cluster_name)
            auth_environment = pool.environment()
            CfnOutput(self, "TokenClientId", value=pool.client.user_pool_client_id)

        settings = TaskSettings(
            image=self._image(config),
            namespace=config.namespace,
            kafka=self.kafka,
            environment={
                "SKALD_NAMESPACE": config.namespace,
                "SKALD_KAFKA_BOOTSTRAP": self.kafka.bootstrap_brokers(),
                "SKALD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "SKALD_KAFKA_AUTH": "msk-iam",
                "SKALD_AWS_REGION": config.region,
                "SKALD_TOPIC_PARTITIONS": str(config.topic_partitions),
                "SKALD_TOPIC_REPLICATION": "3",
                "SKALD_TOPIC_MIN_INSYNC_REPLICAS": "2",
                "SKALD_LOG_LEVEL": "INFO",
            },
            read_model_environment={
                "SKALD_PG_DSN": postgres.dsn(),
                # deploy/aws/entrypoint.py turns these and the password into SKALD_OPENSEARCH_URL
                "OPENSEARCH_ENDPOINT": search.url_host(),
                "OPENSEARCH_USERNAME": SEARCH_USER,
            },
            read_model_secrets={
                "PGPASSWORD": secret_field(postgres.secret, "password"),
                "OPENSEARCH_PASSWORD": secret_field(search.secret, "password"),
            },
            otel_collector_image=config.otel_collector_image,
        )
        self.cluster = cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=network.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.migration = migration = Migration(
            self,
            "Migration",
            cluster=cluster,
            settings=settings,
            vpc=network.vpc,
            security_group=groups.migration,
        )

        wanted = [
            (roles.API, groups.api, config.api_count, auth_environment),
            (roles.PROCESSOR, groups.processor, config.processor_count, None),
            (roles.PROJECTOR, groups.projector, config.projector_count, None),
        ]
        if declared.has_workers():
            wanted.append((roles.WORKER, groups.worker, config.worker_count, None))
        self.services: dict[str, SkaldService] = {}
        for role, group, count, extra in wanted:
            self.services[role.name] = SkaldService(
                self,
                role.name.capitalize(),
                role=role,
                cluster=cluster,
                settings=settings,
                security_group=group,
                desired_count=count,
                extra_environment={**(extra or {}), **_listen(role)},
            )
        migration.run_before(*(s.service for s in self.services.values()))

        self.entrance = entrance = ApiLoadBalancer(
            self,
            "Entrance",
            vpc=network.vpc,
            security_group=network.load_balancer,
            certificate_arn=config.certificate_arn,
            api=self.services["api"].service,
        )
        consumer_groups = {"processor": namespaced(config.namespace, "skald.commands")}
        if "worker" in self.services:
            consumer_groups["worker"] = namespaced(config.namespace, "skald.worker")
        self.alarms = Alarms(
            self,
            "Alarms",
            watched=Watched(
                namespace=config.namespace,
                cluster_name=config.cluster_name,
                projections=declared.projection_names(),
                consumer_groups=consumer_groups,
                services={name: s.service for name, s in self.services.items()},
                desired_counts={
                    "api": config.api_count,
                    "processor": config.processor_count,
                    "projector": config.projector_count,
                    "worker": config.worker_count,
                },
                target_group=entrance.target_group,
                load_balancer=entrance.load_balancer,
            ),
            email=config.alarm_email,
        )
        CfnOutput(self, "ApiUrl", value=f"https://{entrance.load_balancer.load_balancer_dns_name}")
        CfnOutput(self, "ClusterArn", value=self.kafka.arn)
        CfnOutput(
            self, "MigrationTaskDefinition", value=migration.task.definition.task_definition_arn
        )
        CfnOutput(self, "AlarmTopic", value=self.alarms.topic.topic_arn)
        # What a one-off `aws ecs run-task` (replay, dead letters) needs; see README.md.
        CfnOutput(self, "EcsCluster", value=cluster.cluster_name)
        CfnOutput(
            self,
            "ProjectorTaskDefinition",
            value=self.services["projector"].task.definition.task_definition_arn,
        )
        CfnOutput(self, "ProjectorSecurityGroup", value=groups.projector.security_group_id)
        tasks_subnets = network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        CfnOutput(self, "TaskSubnets", value=",".join(tasks_subnets.subnet_ids))

    @staticmethod
    def _image(config: DeploymentConfig) -> ecs.ContainerImage:
        """A given image, or Skald built from this checkout at deploy time."""
        if config.image:
            return ecs.ContainerImage.from_registry(config.image)
        return ecs.ContainerImage.from_asset(
            str(REPO_ROOT),
            file="deploy/aws/Dockerfile",
            exclude=IMAGE_EXCLUDES,
            platform=ecr_assets.Platform.LINUX_AMD64,
        )


def _listen(role: roles.ProcessRole) -> dict[str, str]:
    """The API listens on every interface of its task (the load balancer is outside it)."""
    if role.port is None:
        return {}
    return {"SKALD_API_HOST": "0.0.0.0", "SKALD_API_PORT": str(role.port)}
