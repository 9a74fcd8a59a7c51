"""cdk-nag (AwsSolutions) findings acknowledged on purpose, each on the one construct it is
about, with the reason it is right for Skald. Anything else fails the synth.

cdk-nag 3 acknowledges one finding at a time (no prefix matching), so the IAM5 findings on
the Kafka grants are named exactly as cdk-nag renders them, from the same grant table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Token, Validations
from constructs import IConstruct

from skald_aws.kafka_access import KafkaGrant, resource_patterns

if TYPE_CHECKING:
    from skald_aws.stack import SkaldStack


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """One finding (rule id, with its `[finding]` part when the rule has several) and why."""

    rule: str
    reason: str


# By rule: the reason, stated once. The closing note of issue 13 lists these.
REASONS = {
    "AwsSolutions-EC23": "The API's load balancer is public on purpose: it accepts HTTPS (443) "
    "from anywhere and every request needs a bearer JWT; nothing else is open to the internet.",
    "AwsSolutions-ECS2": "Only non-secret settings (SKALD_* endpoints, namespace, sizes) are "
    "environment variables, as skald/settings.py reads them; passwords are ECS secrets from "
    "Secrets Manager.",
    "AwsSolutions-SMG4": "Tasks read the password when they start, so a scheduled rotation "
    "would break new connections until a redeploy. Rotation is the procedure in "
    "deploy/aws/README.md (rotate, then force a new deployment).",
    "AwsSolutions-RDS11": "A non-default port hides nothing from a client inside the VPC; the "
    "security group admits 5432 only from the API, projector and migration tasks.",
    "AwsSolutions-S1": "This bucket receives the load balancer's access logs; logging its own "
    "accesses would need yet another bucket for no reader.",
    "AwsSolutions-OS3": "The domain is in the VPC's isolated subnets and its security group "
    "admits 443 only from the API, projector and migration tasks: IP allowlists add nothing.",
    "AwsSolutions-OS5": "Requests are authenticated by fine-grained access control with an "
    "internal user (basic auth over HTTPS), which the resource policy must let through; "
    "reachable only inside the VPC.",
    "AwsSolutions-IAM4": "AWSLambdaBasicExecutionRole only lets the function write its own "
    "CloudWatch logs; it is what CDK's custom resources and triggers attach.",
    "AwsSolutions-IAM5-kafka": "MSK IAM resources are named `<kind>/<cluster>/<uuid>/<name>`: "
    "the cluster UUID is a wildcard (the name is unique per account and region, and a rebuilt "
    "cluster keeps its grants) and names are the SKALD_NAMESPACE prefix plus a pattern, so "
    "the grant stops at this deployment's namespace.",
    "AwsSolutions-IAM5-ecs-tasks": "The migration trigger waits for the task it started; task "
    "ids are only known at run time, so DescribeTasks is scoped to this cluster's tasks.",
    "AwsSolutions-IAM5-ecr-token": "Pulling the image built from this checkout needs "
    "ecr:GetAuthorizationToken, which takes no resource ARN; the pull itself is scoped to the "
    "asset repository.",
    "AwsSolutions-IAM5-cdk-logs": "CDK's own custom resource that lets OpenSearch write its "
    "slow and application logs calls logs:PutResourcePolicy, which takes no resource ARN.",
}
LAMBDA_BASIC = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)
# CDK's singleton Lambda behind every AwsCustomResource (bootstrap brokers, OpenSearch logs).
AWS_CUSTOM_RESOURCE_ID = "AWS679f53fac002430cb0da5b7982bd2287"


def acknowledge(construct: IConstruct, rule: str, reason_key: str | None = None) -> None:
    """Acknowledge one finding on one construct, with the reason for its rule."""
    reason = REASONS[reason_key or rule.split("[", 1)[0]]
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def kafka_findings(stack: SkaldStack, grant: KafkaGrant) -> list[str]:
    """The IAM5 finding ids cdk-nag reports for a role's Kafka grant (wildcard resources)."""
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    cluster = stack.config.cluster_name
    namespace = stack.config.namespace
    return [
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kafka:{stack.region}:{account}:"
        f"{kind}/{cluster}/*/{namespace}.{pattern}]"
        for kind, pattern in resource_patterns(grant)
    ]


def acknowledge_findings(stack: SkaldStack) -> None:
    """Every acknowledged finding of the stack, on the construct it is about."""
    acknowledge(stack.network.load_balancer, "AwsSolutions-EC23")
    acknowledge(stack.postgres.instance, "AwsSolutions-RDS11")
    acknowledge(stack.postgres.instance, "AwsSolutions-SMG4")  # its generated secret
    acknowledge(stack.search.secret, "AwsSolutions-SMG4")
    acknowledge(stack.search.domain, "AwsSolutions-OS3")
    acknowledge(stack.search.domain, "AwsSolutions-OS5")
    acknowledge(stack.entrance.access_logs, "AwsSolutions-S1")
    tasks = [stack.migration.task, *(service.task for service in stack.services.values())]
    for task in tasks:
        acknowledge(task.definition, "AwsSolutions-ECS2")
        acknowledge(
            task.definition, "AwsSolutions-IAM5[Resource::*]", "AwsSolutions-IAM5-ecr-token"
        )
        for finding in kafka_findings(stack, task.grant):
            acknowledge(task.role, finding, "AwsSolutions-IAM5-kafka")
    trigger = stack.migration.trigger
    acknowledge(trigger, f"AwsSolutions-IAM4[{LAMBDA_BASIC}]")
    cluster_ref = stack.resolve(stack.cluster.cluster_name)["Ref"]
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    acknowledge(
        trigger,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:{stack.region}:{account}:"
        f"task/<{cluster_ref}>/*]",
        "AwsSolutions-IAM5-ecs-tasks",
    )
    custom_resource = stack.node.try_find_child(AWS_CUSTOM_RESOURCE_ID)
    if custom_resource is not None:
        acknowledge(custom_resource, f"AwsSolutions-IAM4[{LAMBDA_BASIC}]")
    acknowledge(stack.search.domain, "AwsSolutions-IAM5[Resource::*]", "AwsSolutions-IAM5-cdk-logs")
