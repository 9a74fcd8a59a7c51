"""Runs the migration ECS task once and fails the deployment unless every container exits 0.

Called by a CDK trigger during `cdk deploy`, before the services are created or updated; it
waits for the task (topics apply, then setup) to stop, so services start on existing topics.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

POLL_SECONDS = 10
# The trigger's Lambda has 15 minutes; leave a minute to report.
MAX_POLLS = 84


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    ecs = boto3.client("ecs")
    cluster = os.environ["CLUSTER_ARN"]
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=os.environ["TASK_DEFINITION_ARN"],
        launchType="FARGATE",
        startedBy="skald-migration",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": os.environ["SUBNET_IDS"].split(","),
                "securityGroups": [os.environ["SECURITY_GROUP_ID"]],
                "assignPublicIp": "DISABLED",
            }
        },
    )
    if started.get("failures") or not started.get("tasks"):
        raise RuntimeError(f"could not start the migration task: {started.get('failures')}")
    task_arn = started["tasks"][0]["taskArn"]
    ecs.get_waiter("tasks_stopped").wait(
        cluster=cluster,
        tasks=[task_arn],
        WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": MAX_POLLS},
    )
    task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    failed = [
        f"{c['name']}: exit {c.get('exitCode')} {c.get('reason', '')}".strip()
        for c in task["containers"]
        if c.get("exitCode") != 0
    ]
    if failed:
        raise RuntimeError(
            f"migration task {task_arn} failed ({'; '.join(failed)}); "
            f"its logs are in {os.environ['LOG_GROUP']}"
        )
    return {"task": task_arn}
