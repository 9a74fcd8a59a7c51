"""Security groups open exactly the ports each role needs; the stores are encrypted,
Multi-AZ and reachable only from inside the VPC."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match

from tests.unit.deploy_aws.conftest import Synth


def _ingress(synth: Synth) -> set[tuple[str, int, str]]:
    """Every ingress rule as (target group, port, source group or CIDR), by construct id."""
    names = {
        synth.logical_id(group): group.node.id
        for group in synth.stack.node.find_all()
        if isinstance(group, ec2.SecurityGroup)
    }

    def name(ref: Any) -> str:
        return names[ref["Fn::GetAtt"][0]]

    rules: set[tuple[str, int, str]] = set()
    for logical_id, group in synth.of_type("AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule["FromPort"] == rule["ToPort"]
            rules.add((names[logical_id], rule["FromPort"], rule["CidrIp"]))
    for rule in synth.of_type("AWS::EC2::SecurityGroupIngress").values():
        props = rule["Properties"]
        assert props["FromPort"] == props["ToPort"]
        rules.add((name(props["GroupId"]), props["FromPort"], name(props["SourceSecurityGroupId"])))
    return rules


def test_every_port_open_is_one_a_role_needs(synth: Synth) -> None:
    roles = ["Api", "Processor", "Projector", "Worker", "Migration"]
    read_models = ["Api", "Projector", "Migration"]
    assert _ingress(synth) == {
        ("LoadBalancer", 443, "0.0.0.0/0"),
        ("Api", 8000, "LoadBalancer"),
        *{("KafkaBrokers", 9098, role) for role in roles},
        *{("PostgresClients", 5432, role) for role in read_models},
        *{("OpenSearchClients", 443, role) for role in read_models},
    }


def test_the_data_stores_send_nothing_out(synth: Synth) -> None:
    for group in synth.of_type("AWS::EC2::SecurityGroup").values():
        description = group["Properties"]["GroupDescription"]
        if description in {"MSK IAM/TLS", "PostgreSQL", "OpenSearch HTTPS"}:
            assert group["Properties"]["SecurityGroupEgress"][0]["CidrIp"] == "255.255.255.255/32"


def test_postgres_is_multi_az_encrypted_and_its_password_in_secrets_manager(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "Engine": "postgres",
            "MultiAZ": True,
            "StorageEncrypted": True,
            "DeletionProtection": True,
            "BackupRetentionPeriod": 7,
            "PubliclyAccessible": False,
            "StorageType": "gp3",
            "MasterUserPassword": Match.object_like(
                {"Fn::Join": ["", Match.array_with(["{{resolve:secretsmanager:"])]}
            ),
        },
    )
    synth.template.has_resource_properties(
        "AWS::RDS::DBParameterGroup", {"Parameters": {"rds.force_ssl": "1"}}
    )


def test_opensearch_is_in_the_vpc_encrypted_https_only_with_fine_grained_access(
    synth: Synth,
) -> None:
    synth.template.has_resource_properties(
        "AWS::OpenSearchService::Domain",
        {
            "EngineVersion": "OpenSearch_2.19",
            "EncryptionAtRestOptions": {"Enabled": True},
            "NodeToNodeEncryptionOptions": {"Enabled": True},
            "DomainEndpointOptions": {
                "EnforceHTTPS": True,
                "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07",
            },
            "AdvancedSecurityOptions": {
                "Enabled": True,
                "InternalUserDatabaseEnabled": True,
                "MasterUserOptions": Match.object_like({"MasterUserName": "skald"}),
            },
            "VPCOptions": {"SubnetIds": Match.any_value(), "SecurityGroupIds": Match.any_value()},
            "ClusterConfig": Match.object_like(
                {
                    "InstanceCount": 3,
                    "ZoneAwarenessEnabled": True,
                    "ZoneAwarenessConfig": {"AvailabilityZoneCount": 3},
                    "DedicatedMasterEnabled": True,
                }
            ),
        },
    )


def test_the_api_is_served_over_tls_only(synth: Synth) -> None:
    (listener,) = synth.of_type("AWS::ElasticLoadBalancingV2::Listener").values()
    props = listener["Properties"]
    assert props["Port"] == 443 and props["Protocol"] == "HTTPS"
    assert props["Certificates"] == [{"CertificateArn": synth.stack.config.certificate_arn}]
    assert props["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    synth.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"Port": 8000, "HealthCheckPath": "/health"},
    )
    synth.template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        {
            "Conditions": [
                {
                    "Field": "path-pattern",
                    "PathPatternConfig": {"Values": ["/metrics", "/metrics/*"]},
                }
            ],
            "Actions": [Match.object_like({"Type": "fixed-response"})],
        },
    )
