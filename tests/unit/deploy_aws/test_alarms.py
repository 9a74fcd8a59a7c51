"""Alarms for consumer lag, dead letters and 5xx (and broker and service health), every one
sending to the alarm topic."""

from __future__ import annotations

from typing import Any

from skald_aws.declared import projection_names

from tests.unit.deploy_aws.conftest import CLUSTER, NAMESPACE, Synth


def _alarms(synth: Synth) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]


def _by_metric(synth: Synth, metric: str) -> dict[str, dict[str, Any]]:
    """Skald metric alarms by their `projection` dimension."""
    found = {}
    for alarm in _alarms(synth):
        if alarm.get("MetricName") == metric:
            assert alarm["Namespace"] == f"Skald/{NAMESPACE}"
            (dimension,) = alarm["Dimensions"]
            found[dimension["Value"]] = alarm
    return found


def test_every_projection_has_a_lag_and_a_dead_letter_alarm(synth: Synth) -> None:
    projections = set(projection_names())
    assert "sales.orders" in projections  # the registry is read, not a copy of it
    assert set(_by_metric(synth, "skald_projection_lag_events")) == projections
    dead_letters = _by_metric(synth, "skald_projection_dead_letters_total")
    assert set(dead_letters) == projections
    assert all(a["Threshold"] == 0 and a["Statistic"] == "Sum" for a in dead_letters.values())


def test_kafka_consumer_groups_have_time_lag_alarms(synth: Synth) -> None:
    queries = [
        query["Expression"]
        for alarm in _alarms(synth)
        for query in alarm.get("Metrics", [])
        if "Expression" in query and "EstimatedMaxTimeLag" in query["Expression"]
    ]
    for group in (f"{NAMESPACE}.skald.commands", f"{NAMESPACE}.skald.worker"):
        (query,) = [q for q in queries if f"'{group}'" in q]
        assert f"\"Cluster Name\" = '{CLUSTER}'" in query


def test_api_5xx_and_broker_alarms_exist(synth: Synth) -> None:
    expressions = " ".join(
        str(query.get("Expression", ""))
        for alarm in _alarms(synth)
        for query in alarm.get("Metrics", [])
    )
    metric_names = " ".join(
        str(query.get("MetricStat", {}).get("Metric", {}).get("MetricName", ""))
        for alarm in _alarms(synth)
        for query in alarm.get("Metrics", [])
    )
    assert "HTTPCode_Target_5XX_Count" in metric_names and "RequestCount" in metric_names
    assert any(a.get("MetricName") == "HTTPCode_ELB_5XX_Count" for a in _alarms(synth))
    assert "UnderMinIsrPartitionCount" in expressions
    assert "KafkaDataLogsDiskUsed" in expressions


def test_every_service_is_watched_for_missing_tasks(synth: Synth) -> None:
    watched = [a for a in _alarms(synth) if a.get("MetricName") == "RunningTaskCount"]
    assert len(watched) == len(synth.stack.services)


def test_every_alarm_notifies_the_encrypted_topic(synth: Synth) -> None:
    (topic_id,) = synth.of_type("AWS::SNS::Topic")
    topic = synth.resources[topic_id]["Properties"]
    assert "KmsMasterKeyId" in topic
    for alarm in _alarms(synth):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], alarm.get("AlarmDescription")
        assert alarm["AlarmDescription"]
