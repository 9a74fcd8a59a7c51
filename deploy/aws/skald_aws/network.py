"""The VPC across three zones and one security group per role, opened port by port."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

# Every port a Skald process talks to; the template tests assert exactly these.
KAFKA_IAM_PORT = 9098  # MSK's IAM listener (SASL/OAUTHBEARER over TLS)
POSTGRES_PORT = 5432
OPENSEARCH_PORT = 443  # the domain only serves HTTPS
API_PORT = 8000  # `skald api` inside its task; the load balancer terminates TLS on 443
HTTPS_PORT = 443


@dataclass(frozen=True, slots=True)
class RoleGroups:
    """One security group per process role: a grant names exactly who needs a port."""

    api: ec2.SecurityGroup
    processor: ec2.SecurityGroup
    projector: ec2.SecurityGroup
    worker: ec2.SecurityGroup
    migration: ec2.SecurityGroup

    def all(self) -> list[ec2.SecurityGroup]:
        return [self.api, self.processor, self.projector, self.worker, self.migration]

    def with_read_models(self) -> list[ec2.SecurityGroup]:
        """The roles that read or write PostgreSQL and OpenSearch (the worker and the
        command processor only talk to Kafka)."""
        return [self.api, self.projector, self.migration]


class Network(Construct):
    """Public subnets for the load balancer, private ones (with NAT) for the tasks, isolated
    ones for MSK, RDS and OpenSearch; flow logs on."""

    def __init__(self, scope: Construct, construct_id: str, zones: list[str]) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            availability_zones=zones,
            nat_gateways=len(zones),  # one per zone: losing a zone never cuts the others off
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(
                    name="tasks", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                ),
                ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ],
        )
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=logs.RetentionDays.ONE_MONTH)
        self.vpc.add_flow_log(
            "FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
        )
        self.groups = RoleGroups(
            api=self._group("Api", "the HTTP API tasks"),
            processor=self._group("Processor", "the command processor tasks"),
            projector=self._group("Projector", "the projector tasks"),
            worker=self._group("Worker", "the saga and stream worker tasks"),
            migration=self._group("Migration", "the one-off topics apply and setup task"),
        )
        self.load_balancer = ec2.SecurityGroup(
            self,
            "LoadBalancer",
            vpc=self.vpc,
            description="HTTPS from the internet to the API load balancer",
            allow_all_outbound=False,
        )
        self.load_balancer.add_ingress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(HTTPS_PORT), "HTTPS from clients"
        )
        self.groups.api.add_ingress_rule(
            self.load_balancer, ec2.Port.tcp(API_PORT), "the load balancer to the API"
        )
        self.load_balancer.add_egress_rule(
            self.groups.api, ec2.Port.tcp(API_PORT), "to the API tasks"
        )

    def _group(self, construct_id: str, who: str) -> ec2.SecurityGroup:
        # Outbound open: tasks reach ECR, Secrets Manager, CloudWatch, STS and the JWKS URL
        # over HTTPS through NAT, besides the data stores' own groups below.
        return ec2.SecurityGroup(
            self, construct_id, vpc=self.vpc, description=who, allow_all_outbound=True
        )

    def data_store_group(
        self, construct_id: str, port: int, clients: list[ec2.SecurityGroup], what: str
    ) -> ec2.SecurityGroup:
        """A data store's group: `port` from exactly `clients`, nothing else in or out."""
        group = ec2.SecurityGroup(
            self, construct_id, vpc=self.vpc, description=what, allow_all_outbound=False
        )
        for client in clients:
            group.add_ingress_rule(client, ec2.Port.tcp(port), f"{what} from {client.node.id}")
        return group
