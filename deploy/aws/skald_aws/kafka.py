"""Amazon MSK provisioned: Kafka 4.1 (KRaft), IAM auth over TLS, encrypted, broker logs on,
and a broker configuration that never trades acknowledged writes for availability."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_msk as msk
from aws_cdk import custom_resources as cr
from constructs import Construct

# The L1 takes MSK's version string as is (the alpha L2 is experimental); 4.1 is KRaft only.
KAFKA_VERSION = "4.1.x.kraft"

# Each line is a guarantee Skald's invariants lean on (design.md, invariants 2 and 3).
SERVER_PROPERTIES = {
    # MSK ships `true` on clusters without tiered storage: an out-of-sync replica could become
    # leader and drop writes that were acknowledged with acks=all. Refuse instead.
    "unclean.leader.election.enable": "false",
    # acks=all then means two of three replicas have the record: one zone can be lost.
    "min.insync.replicas": "2",
    "default.replication.factor": "3",
    # Topics exist only because `skald topics apply` declared them (no typo makes a topic).
    "auto.create.topics.enable": "false",
    # The transaction and offsets logs hold the command processor's commits (KIP-447): they
    # get the same durability as the events themselves.
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "offsets.topic.replication.factor": "3",
    # Topic deletion stays possible for operators (replay uses new tables/indices, not topics).
    "delete.topic.enable": "true",
}


def server_properties_text() -> str:
    """The configuration exactly as MSK stores it: one `key=value` per line."""
    return "".join(f"{key}={value}\n" for key, value in SERVER_PROPERTIES.items())


class KafkaCluster(Construct):
    """Three brokers, one per zone, in the isolated subnets."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster_name: str,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        instance_type: str,
        volume_gib: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster_name = cluster_name
        key = kms.Key(self, "DataKey", enable_key_rotation=True, description="MSK data at rest")
        self.broker_logs = logs.LogGroup(self, "BrokerLogs", retention=logs.RetentionDays.ONE_MONTH)
        configuration = msk.CfnConfiguration(
            self,
            "Configuration",
            name=f"{cluster_name}-brokers",
            description="Skald: no unclean election, min.insync.replicas=2, no auto-create",
            kafka_versions_list=[KAFKA_VERSION],
            server_properties=server_properties_text(),
        )
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.cluster = msk.CfnCluster(
            self,
            "Cluster",
            cluster_name=cluster_name,
            kafka_version=KAFKA_VERSION,
            number_of_broker_nodes=len(subnets.subnet_ids),  # one per zone
            broker_node_group_info=msk.CfnCluster.BrokerNodeGroupInfoProperty(
                instance_type=instance_type,
                client_subnets=subnets.subnet_ids,
                security_groups=[security_group.security_group_id],
                storage_info=msk.CfnCluster.StorageInfoProperty(
                    ebs_storage_info=msk.CfnCluster.EBSStorageInfoProperty(volume_size=volume_gib)
                ),
            ),
            client_authentication=msk.CfnCluster.ClientAuthenticationProperty(
                sasl=msk.CfnCluster.SaslProperty(iam=msk.CfnCluster.IamProperty(enabled=True)),
                unauthenticated=msk.CfnCluster.UnauthenticatedProperty(enabled=False),
            ),
            encryption_info=msk.CfnCluster.EncryptionInfoProperty(
                encryption_at_rest=msk.CfnCluster.EncryptionAtRestProperty(
                    data_volume_kms_key_id=key.key_arn
                ),
                encryption_in_transit=msk.CfnCluster.EncryptionInTransitProperty(
                    client_broker="TLS", in_cluster=True
                ),
            ),
            configuration_info=msk.CfnCluster.ConfigurationInfoProperty(
                arn=configuration.attr_arn, revision=1
            ),
            # Per-topic broker metrics: the dead-letter and lag alarms read topic dimensions.
            enhanced_monitoring="PER_TOPIC_PER_BROKER",
            logging_info=msk.CfnCluster.LoggingInfoProperty(
                broker_logs=msk.CfnCluster.BrokerLogsProperty(
                    cloud_watch_logs=msk.CfnCluster.CloudWatchLogsProperty(
                        enabled=True, log_group=self.broker_logs.log_group_name
                    )
                )
            ),
        )
        # The event log is the system of record: keep it if the stack is deleted.
        self.cluster.apply_removal_policy(RemovalPolicy.RETAIN)
        key.apply_removal_policy(RemovalPolicy.RETAIN)

    @property
    def arn(self) -> str:
        return self.cluster.attr_arn

    def resource_arn(self, kind: str, name: str) -> str:
        """An MSK IAM resource ARN, `arn:aws:kafka:REGION:ACCOUNT:KIND/CLUSTER/UUID/NAME`
        (KIND: topic, group or transactional-id). The UUID is a wildcard: the cluster's name
        is unique in its account and region, and a cluster rebuilt after a disaster (new
        UUID) is reached with the same grants."""
        stack = Stack.of(self)
        return (
            f"arn:{stack.partition}:kafka:{stack.region}:{stack.account}:"
            f"{kind}/{self.cluster_name}/*/{name}"
        )

    def bootstrap_brokers(self) -> str:
        """The IAM listeners (port 9098), read after creation: CloudFormation does not return
        them, so a custom resource asks MSK's GetBootstrapBrokers."""
        call = cr.AwsSdkCall(
            service="Kafka",
            action="getBootstrapBrokers",
            parameters={"ClusterArn": self.arn},
            physical_resource_id=cr.PhysicalResourceId.of(self.arn),
            output_paths=["BootstrapBrokerStringSaslIam"],
        )
        lookup = cr.AwsCustomResource(
            self,
            "BootstrapBrokers",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[self.arn]),
            install_latest_aws_sdk=False,  # the Lambda runtime's SDK: no download at deploy
        )
        return lookup.get_response_field("BootstrapBrokerStringSaslIam")
