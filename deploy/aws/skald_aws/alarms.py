"""CloudWatch alarms, each a symptom an operator acts on (deploy/aws/README.md says how),
all sent to one encrypted SNS topic."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

# Thresholds: each says when a person should look, not when something is merely busy.
PROJECTION_LAG_EVENTS = 10_000  # events behind the head, for 5 minutes
CONSUMER_TIME_LAG_SECONDS = 60  # oldest unprocessed command or saga message, for 5 minutes
API_5XX_PERCENT = 5  # of requests in 5 minutes (503 with Retry-After under overload included)
BROKER_DISK_PERCENT = 80


@dataclass(frozen=True, slots=True)
class Watched:
    """What the alarms look at."""

    namespace: str
    cluster_name: str
    projections: tuple[str, ...]
    consumer_groups: dict[str, str]  # role -> namespaced consumer group committing in Kafka
    services: dict[str, ecs.FargateService]
    desired_counts: dict[str, int]
    target_group: elbv2.ApplicationTargetGroup
    load_balancer: elbv2.ApplicationLoadBalancer


class Alarms(Construct):
    """Consumer lag, dead letters, 5xx, broker health, and services below their count."""

    def __init__(
        self, scope: Construct, construct_id: str, *, watched: Watched, email: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(self, "TopicKey", enable_key_rotation=True, description="Skald alarms")
        # CloudWatch publishes to an encrypted topic only if it may use the key.
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(self, "Topic", master_key=key, enforce_ssl=True)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self._action = actions.SnsAction(self.topic)
        self._watched = watched
        self.alarms: list[cloudwatch.IAlarm] = []
        for projection in watched.projections:
            self._projection(projection)
        for role, group in watched.consumer_groups.items():
            self._consumer_lag(role, group)
        self._api_errors()
        self._brokers()
        for role, service in watched.services.items():
            self._running_tasks(role, service, watched.desired_counts[role])

    def _add(self, alarm: cloudwatch.Alarm) -> None:
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)

    def _skald_metric(self, name: str, projection: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=f"Skald/{self._watched.namespace}",
            metric_name=name,
            dimensions_map={"projection": projection},
            statistic=statistic,
            period=Duration.minutes(1),
        )

    def _projection(self, projection: str) -> None:
        slug = projection.replace(".", "-")
        self._add(
            self._skald_metric("skald_projection_lag_events", projection, "Maximum").create_alarm(
                self,
                f"Lag-{slug}",
                alarm_description=f"Projection {projection} is over {PROJECTION_LAG_EVENTS} "
                "events behind its topics for 5 minutes",
                threshold=PROJECTION_LAG_EVENTS,
                evaluation_periods=5,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.MISSING,
            )
        )
        dead = self._skald_metric("skald_projection_dead_letters_total", projection, "Sum")
        self._add(
            dead.with_(period=Duration.minutes(5)).create_alarm(
                self,
                f"DeadLetters-{slug}",
                alarm_description=f"Projection {projection} sent events to its dead-letter "
                "topic (skald dlq list)",
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def _insights_alarm(
        self, construct_id: str, description: str, query: str, threshold: float, periods: int
    ) -> None:
        """An alarm on a Metrics Insights query: one alarm over every topic or broker the
        query groups, without listing them here."""
        alarm = cloudwatch.CfnAlarm(
            self,
            construct_id,
            alarm_description=description,
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            evaluation_periods=periods,
            treat_missing_data="notBreaching",
            metrics=[
                cloudwatch.CfnAlarm.MetricDataQueryProperty(
                    id="q", expression=query, period=60, return_data=True
                )
            ],
            alarm_actions=[self.topic.topic_arn],
            ok_actions=[self.topic.topic_arn],
        )
        self.alarms.append(
            cloudwatch.Alarm.from_alarm_arn(self, f"{construct_id}Ref", alarm.attr_arn)
        )

    def _consumer_lag(self, role: str, group: str) -> None:
        cluster = self._watched.cluster_name
        self._insights_alarm(
            f"ConsumerLag-{role}",
            f"The {role} (consumer group {group}) is over {CONSUMER_TIME_LAG_SECONDS} s behind "
            "on some topic for 5 minutes",
            'SELECT MAX(EstimatedMaxTimeLag) FROM SCHEMA("AWS/Kafka", "Cluster Name", '
            f'"Consumer Group", Topic) WHERE "Cluster Name" = \'{cluster}\' '
            f"AND \"Consumer Group\" = '{group}'",
            CONSUMER_TIME_LAG_SECONDS,
            5,
        )

    def _brokers(self) -> None:
        cluster = self._watched.cluster_name
        per_broker = 'FROM SCHEMA("AWS/Kafka", "Cluster Name", "Broker ID") ' + (
            f"WHERE \"Cluster Name\" = '{cluster}'"
        )
        self._insights_alarm(
            "UnderMinIsr",
            "Some partition has fewer than min.insync.replicas in sync: acks=all writes to it "
            "fail (commands answer 503) until a broker recovers",
            f"SELECT MAX(UnderMinIsrPartitionCount) {per_broker}",
            0,
            2,
        )
        self._insights_alarm(
            "BrokerDisk",
            f"A broker's data volume is over {BROKER_DISK_PERCENT}% full: events are kept "
            "forever, so add storage",
            f"SELECT MAX(KafkaDataLogsDiskUsed) {per_broker}",
            BROKER_DISK_PERCENT,
            3,
        )

    def _api_errors(self) -> None:
        metrics = self._watched.target_group.metrics
        five_minutes = Duration.minutes(5)
        errors = metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five_minutes, statistic="Sum"
        )
        requests = metrics.request_count(period=five_minutes, statistic="Sum")
        percent = cloudwatch.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={"errors": errors, "requests": requests},
            period=five_minutes,
        )
        self._add(
            percent.create_alarm(
                self,
                "Api5xx",
                alarm_description=f"Over {API_5XX_PERCENT}% of API answers are 5xx",
                threshold=API_5XX_PERCENT,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        balancer = self._watched.load_balancer.metrics.http_code_elb(
            elbv2.HttpCodeElb.ELB_5XX_COUNT, period=five_minutes, statistic="Sum"
        )
        self._add(
            balancer.create_alarm(
                self,
                "LoadBalancer5xx",
                alarm_description="The load balancer itself answers 5xx: no healthy API task",
                threshold=0,
                evaluation_periods=2,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def _running_tasks(self, role: str, service: ecs.FargateService, desired: int) -> None:
        running = cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map={
                "ClusterName": service.cluster.cluster_name,
                "ServiceName": service.service_name,
            },
            statistic="Minimum",
            period=Duration.minutes(1),
        )
        self._add(
            running.create_alarm(
                self,
                f"Tasks-{role}",
                alarm_description=f"The {role} service runs fewer than {desired} tasks for 5 "
                "minutes (crashing or not placeable)",
                threshold=desired,
                evaluation_periods=5,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            )
        )
