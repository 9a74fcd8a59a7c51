"""The long-running ECS Fargate services, and the HTTPS load balancer in front of the API."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from skald_aws.network import API_PORT, HTTPS_PORT
from skald_aws.roles import METRICS_PORT, ProcessRole
from skald_aws.tasks import SkaldTask, TaskSettings


class SkaldService(Construct):
    """One role as an ECS service: its task, its security group, rolling deploys that roll
    back by themselves when new tasks keep failing."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role: ProcessRole,
        cluster: ecs.ICluster,
        settings: TaskSettings,
        security_group: ec2.ISecurityGroup,
        desired_count: int,
        extra_environment: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.task = SkaldTask(
            self,
            "Task",
            settings=settings,
            grant=role.grant,
            read_models=role.read_models,
            cpu=role.cpu,
            memory_mib=role.memory_mib,
        )
        environment = dict(extra_environment or {})
        if role.metrics:
            environment["SKALD_METRICS_PORT"] = str(METRICS_PORT)
        self.task.add_skald(
            "skald",
            role.command,
            extra_environment=environment,
            port=role.port,
        )
        if role.metrics:
            self.task.add_metrics_sidecar(settings.namespace)
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task.definition,
            desired_count=desired_count,
            security_groups=[security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,  # never below the desired count while deploying
            max_healthy_percent=200,
        )


class ApiLoadBalancer(Construct):
    """Internet-facing, TLS 1.2+ on 443 with the given certificate, access logs to S3;
    `/metrics` stays inside the VPC."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        certificate_arn: str,
        api: ecs.FargateService,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only kind ALB log delivery accepts
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            security_group=security_group,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            drop_invalid_header_fields=True,
        )
        self.load_balancer.log_access_logs(access_logs)
        listener = self.load_balancer.add_listener(
            "Https",
            port=HTTPS_PORT,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,  # the security group already admits 443; no second rule
        )
        self.target_group = listener.add_targets(
            "Api",
            port=API_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[api],
            health_check=elbv2.HealthCheck(path="/health", healthy_http_codes="200"),
            deregistration_delay=Duration.seconds(30),
        )
        # The API serves Prometheus metrics on its own port; they are not for the internet.
        listener.add_action(
            "NoMetrics",
            priority=10,
            conditions=[elbv2.ListenerCondition.path_patterns(["/metrics", "/metrics/*"])],
            action=elbv2.ListenerAction.fixed_response(404, content_type="text/plain"),
        )
