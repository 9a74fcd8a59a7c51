"""The trigger's handler: it runs the migration task, waits for it, and fails the deployment
unless every container exited 0."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.deploy_aws.conftest import DEPLOY_DIR

HANDLER = DEPLOY_DIR / "skald_aws" / "migration_handler" / "index.py"
ENVIRONMENT = {
    "CLUSTER_ARN": "arn:aws:ecs:eu-west-1:123456789012:cluster/skald",
    "TASK_DEFINITION_ARN": "arn:aws:ecs:eu-west-1:123456789012:task-definition/migration:7",
    "SUBNET_IDS": "subnet-a,subnet-b",
    "SECURITY_GROUP_ID": "sg-1",
    "LOG_GROUP": "/skald/migration",
}


class FakeEcs:
    """Answers like ECS for one task whose containers exit with the given codes."""

    def __init__(self, exit_codes: dict[str, int | None]) -> None:
        self.exit_codes = exit_codes
        self.run_request: dict[str, Any] = {}
        self.waited: list[str] = []

    def run_task(self, **request: Any) -> dict[str, Any]:
        self.run_request = request
        return {"tasks": [{"taskArn": "task/1"}], "failures": []}

    def get_waiter(self, name: str) -> Any:
        assert name == "tasks_stopped"
        fake = self

        class Waiter:
            def wait(self, cluster: str, tasks: list[str], WaiterConfig: dict[str, int]) -> None:
                fake.waited += tasks

        return Waiter()

    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict[str, Any]:
        containers = [
            {"name": name, **({} if code is None else {"exitCode": code})}
            for name, code in self.exit_codes.items()
        ]
        return {"tasks": [{"containers": containers}]}


def _handler(monkeypatch: pytest.MonkeyPatch, ecs: FakeEcs) -> ModuleType:
    for key, value in ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location("migration_handler", Path(HANDLER))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module.boto3, "client", lambda service: ecs)
    return module


def test_a_successful_migration_returns_its_task(monkeypatch: pytest.MonkeyPatch) -> None:
    ecs = FakeEcs({"topics-apply": 0, "setup": 0})
    assert _handler(monkeypatch, ecs).handler({}, None) == {"task": "task/1"}
    assert ecs.waited == ["task/1"]
    network = ecs.run_request["networkConfiguration"]["awsvpcConfiguration"]
    assert network == {
        "subnets": ["subnet-a", "subnet-b"],
        "securityGroups": ["sg-1"],
        "assignPublicIp": "DISABLED",
    }
    assert ecs.run_request["taskDefinition"] == ENVIRONMENT["TASK_DEFINITION_ARN"]


@pytest.mark.parametrize(
    ("codes", "named"),
    [
        ({"topics-apply": 1, "setup": None}, "topics-apply: exit 1"),
        ({"topics-apply": 0, "setup": 2}, "setup: exit 2"),
    ],
)
def test_a_failed_step_fails_the_deployment_naming_it(
    monkeypatch: pytest.MonkeyPatch, codes: dict[str, int | None], named: str
) -> None:
    with pytest.raises(RuntimeError, match=named) as failure:
        _handler(monkeypatch, FakeEcs(codes)).handler({}, None)
    assert "/skald/migration" in str(failure.value)
