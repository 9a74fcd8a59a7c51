"""The read-model stores: RDS PostgreSQL and Amazon OpenSearch Service, both in the isolated
subnets, encrypted, reachable only from the roles that use them, passwords in Secrets Manager.

The versions are the local stack's majors (deploy/versions.env), so CI tests what runs here.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

DATABASE = "skald"
DATABASE_USER = "skald"
SEARCH_USER = "skald"
# RDS's CA bundle, put in the image by deploy/aws/Dockerfile: libpq verifies the server.
RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"


class Postgres(Construct):
    """PostgreSQL 15, Multi-AZ, encrypted, TLS enforced, deletion-protected, 7 days of PITR."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identifier: str,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        # The log group RDS exports to, made first with a retention (else RDS makes one that
        # keeps logs forever, or CDK adds a Lambda to set the retention afterwards).
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/rds/instance/{identifier}/postgresql",
            retention=logs.RetentionDays.ONE_MONTH,
        )
        engine = rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_15_17)
        parameters = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            parameters={"rds.force_ssl": "1"},  # no plaintext connection, whatever the client asks
        )
        self.instance = rds.DatabaseInstance(
            self,
            "Instance",
            engine=engine,
            instance_identifier=identifier,
            instance_type=ec2.InstanceType.of(ec2.InstanceClass.M7G, ec2.InstanceSize.LARGE),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[security_group],
            multi_az=True,
            storage_encrypted=True,
            storage_type=rds.StorageType.GP3,
            allocated_storage=100,
            max_allocated_storage=1000,
            database_name=DATABASE,
            credentials=rds.Credentials.from_generated_secret(DATABASE_USER),
            parameter_group=parameters,
            backup_retention=Duration.days(7),
            deletion_protection=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
            cloudwatch_logs_exports=["postgresql"],
            enable_performance_insights=True,
            auto_minor_version_upgrade=True,
        )
        self.instance.node.add_dependency(log_group)
        assert self.instance.secret is not None  # from_generated_secret always makes one
        self.secret: secretsmanager.ISecret = self.instance.secret

    def dsn(self) -> str:
        """SKALD_PG_DSN without the password: libpq takes it from PGPASSWORD, which ECS
        injects from the secret, so the DSN itself holds nothing secret."""
        endpoint = self.instance.db_instance_endpoint_address
        port = self.instance.db_instance_endpoint_port
        return (
            f"postgresql://{DATABASE_USER}@{endpoint}:{port}/{DATABASE}"
            f"?sslmode=verify-full&sslrootcert={RDS_CA_BUNDLE}"
        )


class Search(Construct):
    """OpenSearch 2.19: three data nodes in three zones, three dedicated masters, encrypted at
    rest and between nodes, HTTPS only (TLS 1.2+), fine-grained access control with an internal
    user whose password is in Secrets Manager."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "MasterUser",
            description="OpenSearch fine-grained access control: Skald's internal user",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=f'{{"username": "{SEARCH_USER}"}}',
                generate_string_key="password",
                password_length=32,
                require_each_included_type=True,  # FGAC wants upper, lower, digit and symbol
                exclude_characters="\"'\\/@:%",
            ),
        )
        slow_logs = logs.LogGroup(self, "SlowLogs", retention=logs.RetentionDays.ONE_MONTH)
        app_logs = logs.LogGroup(self, "AppLogs", retention=logs.RetentionDays.ONE_MONTH)
        self.domain = opensearch.Domain(
            self,
            "Domain",
            version=opensearch.EngineVersion.OPENSEARCH_2_19,
            vpc=vpc,
            vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
            security_groups=[security_group],
            capacity=opensearch.CapacityConfig(
                data_nodes=3,
                data_node_instance_type="r7g.large.search",
                master_nodes=3,
                master_node_instance_type="m7g.large.search",
                multi_az_with_standby_enabled=False,
            ),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=True, availability_zone_count=3),
            ebs=opensearch.EbsOptions(volume_size=100),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(
                master_user_name=SEARCH_USER,
                master_user_password=self.secret.secret_value_from_json("password"),
            ),
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=slow_logs,
                slow_index_log_enabled=True,
                slow_index_log_group=slow_logs,
                app_log_enabled=True,
                app_log_group=app_logs,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Requests carry the internal user's basic auth (no SigV4), so the resource policy lets
        # any principal *in the VPC* reach the HTTP API and fine-grained access control decides;
        # the security group admits only the roles that use it.
        self.domain.add_access_policies(
            iam.PolicyStatement(
                actions=["es:ESHttp*"],
                principals=[iam.AnyPrincipal()],
                resources=[self.domain.domain_arn, f"{self.domain.domain_arn}/*"],
            )
        )

    def url_host(self) -> str:
        """The domain's VPC endpoint; the container's entrypoint adds scheme and credentials."""
        return self.domain.domain_endpoint
