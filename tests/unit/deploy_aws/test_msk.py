"""The MSK cluster and its configuration: Kafka 4.1 (KRaft), IAM over TLS, encrypted, logged,
and broker settings that never lose an acknowledged write."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.unit.deploy_aws.conftest import Synth


def _configuration(synth: Synth) -> dict[str, str]:
    (configuration,) = synth.of_type("AWS::MSK::Configuration").values()
    text = configuration["Properties"]["ServerProperties"]
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_the_broker_configuration_keeps_acknowledged_writes(synth: Synth) -> None:
    settings = _configuration(synth)
    assert settings["unclean.leader.election.enable"] == "false"
    assert settings["min.insync.replicas"] == "2"
    assert settings["default.replication.factor"] == "3"
    assert settings["auto.create.topics.enable"] == "false"
    assert settings["transaction.state.log.replication.factor"] == "3"
    assert settings["transaction.state.log.min.isr"] == "2"
    assert settings["offsets.topic.replication.factor"] == "3"


def test_the_configuration_is_for_the_cluster_s_kafka_version(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::MSK::Configuration", {"KafkaVersionsList": ["4.1.x.kraft"]}
    )
    (cluster,) = synth.of_type("AWS::MSK::Cluster").values()
    configuration_id = next(iter(synth.of_type("AWS::MSK::Configuration")))
    info = cluster["Properties"]["ConfigurationInfo"]
    assert info["Arn"] == {"Fn::GetAtt": [configuration_id, "Arn"]}


def test_the_cluster_is_kraft_iam_tls_encrypted_and_logged(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::MSK::Cluster",
        {
            "ClusterName": "skald-test",
            "KafkaVersion": "4.1.x.kraft",
            "NumberOfBrokerNodes": 3,
            "ClientAuthentication": {
                "Sasl": {"Iam": {"Enabled": True}},
                "Unauthenticated": {"Enabled": False},
            },
            "EncryptionInfo": {
                "EncryptionAtRest": {"DataVolumeKMSKeyId": Match.any_value()},
                "EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True},
            },
            "LoggingInfo": {
                "BrokerLogs": {"CloudWatchLogs": {"Enabled": True, "LogGroup": Match.any_value()}}
            },
        },
    )


def test_one_broker_per_zone_in_the_isolated_subnets(synth: Synth) -> None:
    (cluster,) = synth.of_type("AWS::MSK::Cluster").values()
    subnets = cluster["Properties"]["BrokerNodeGroupInfo"]["ClientSubnets"]
    isolated = {
        logical_id
        for logical_id, subnet in synth.of_type("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-type", "Value": "Isolated"} in subnet["Properties"]["Tags"]
    }
    assert len(subnets) == 3
    assert {ref["Ref"] for ref in subnets} == isolated
    zones = {synth.resources[s]["Properties"]["AvailabilityZone"] for s in isolated}
    assert zones == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}


def test_the_event_log_outlives_the_stack(synth: Synth) -> None:
    (cluster,) = synth.of_type("AWS::MSK::Cluster").values()
    assert cluster["DeletionPolicy"] == "Retain"
