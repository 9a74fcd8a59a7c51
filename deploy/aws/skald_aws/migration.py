"""The one-off migration before services start: `skald topics apply`, then `skald setup`,
as an ECS task with the only role that may create and configure topics."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Stack, triggers
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from skald_aws import kafka_access
from skald_aws.roles import MIGRATION_STEPS
from skald_aws.tasks import SkaldTask, TaskSettings

HANDLER_DIR = Path(__file__).parent / "migration_handler"


class Migration(Construct):
    """The task definition and the trigger that runs it on every deployment that changes it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        settings: TaskSettings,
        vpc: ec2.Vpc,  # the construct itself: the trigger waits for all of it (NAT routes)
        security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.task = SkaldTask(
            self,
            "Task",
            settings=settings,
            grant=kafka_access.MIGRATION,
            read_models=True,
            cpu=512,
            memory_mib=1024,
        )
        previous: ecs.ContainerDefinition | None = None
        for name, command in MIGRATION_STEPS:
            last = name == MIGRATION_STEPS[-1][0]
            container = self.task.add_skald(name, command, essential=last)
            if previous is not None:  # one after the other, and only after a success
                container.add_container_dependencies(
                    ecs.ContainerDependency(
                        container=previous, condition=ecs.ContainerDependencyCondition.SUCCESS
                    )
                )
            previous = container
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.trigger = triggers.TriggerFunction(
            self,
            "Run",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(HANDLER_DIR)),
            timeout=Duration.minutes(15),
            execute_on_handler_change=True,
            environment={
                "CLUSTER_ARN": cluster.cluster_arn,
                # A new revision (new image, new settings) changes the function: it runs again.
                "TASK_DEFINITION_ARN": self.task.definition.task_definition_arn,
                "SUBNET_IDS": ",".join(subnets.subnet_ids),
                "SECURITY_GROUP_ID": security_group.security_group_id,
                "LOG_GROUP": self.task.logs.log_group_name,
            },
        )
        # The task pulls its image and secrets through NAT: the routes must exist first.
        self.trigger.execute_after(vpc)
        self._grant_run(cluster)

    def _grant_run(self, cluster: ecs.ICluster) -> None:
        """RunTask on this task definition in this cluster, PassRole on its two roles, and
        DescribeTasks on the cluster's tasks (their ids are not known beforehand)."""
        function = self.trigger
        definition = self.task.definition
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=[definition.task_definition_arn],
                conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
            )
        )
        roles = [definition.task_role.role_arn]
        if definition.execution_role is not None:
            roles.append(definition.execution_role.role_arn)
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=roles,
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        stack = Stack.of(self)
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ecs:DescribeTasks"],
                resources=[
                    stack.format_arn(
                        service="ecs", resource="task", resource_name=f"{cluster.cluster_name}/*"
                    )
                ],
            )
        )

    def run_before(self, *constructs: Construct) -> None:
        """The given services are created or updated only after the migration succeeded."""
        self.trigger.execute_before(*constructs)
