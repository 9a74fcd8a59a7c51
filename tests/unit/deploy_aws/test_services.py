"""Each ECS service runs the right `skald` command with the same SKALD_* settings as
everywhere; the migration (`skald topics apply`, then `skald setup`) runs before them."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from skald_aws.auth import AUTH_ENV_NAMES

from skald.cli import app as skald_cli
from skald.settings import Settings
from tests.unit.deploy_aws.conftest import NAMESPACE, Synth

COMMANDS = {
    "api": ["api"],
    "processor": ["process"],
    "projector": ["project"],
    "worker": ["worker"],
}
# The container entrypoint's own inputs (deploy/aws/entrypoint.py) and libpq's password.
NOT_SETTINGS = {"OPENSEARCH_ENDPOINT", "OPENSEARCH_USERNAME", "OPENSEARCH_PASSWORD", "PGPASSWORD"}


def _containers(synth: Synth, task: Any) -> dict[str, dict[str, Any]]:
    definition = synth.resources[synth.logical_id(task.definition)]
    return {c["Name"]: c for c in definition["Properties"]["ContainerDefinitions"]}


def _environment(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container["Environment"]}


def _is_skald_command(argv: list[str]) -> bool:
    """Whether `skald <argv>` names a command of the real CLI (a rename breaks this test)."""
    command: Any = typer.main.get_command(skald_cli)
    for word in argv:
        subcommands = getattr(command, "commands", {})  # a group (typer's click or click)
        if word not in subcommands:
            return False
        command = subcommands[word]
    return not hasattr(command, "commands")


@pytest.mark.parametrize("role", sorted(COMMANDS))
def test_each_service_runs_its_role_s_command(synth: Synth, role: str) -> None:
    skald = _containers(synth, synth.stack.services[role].task)["skald"]
    assert skald["Command"] == COMMANDS[role]
    assert _is_skald_command(skald["Command"])
    assert skald["Essential"] is True


def test_the_migration_applies_topics_then_sets_up_read_models(synth: Synth) -> None:
    containers = _containers(synth, synth.stack.migration.task)
    assert list(containers) == ["topics-apply", "setup"]
    assert containers["topics-apply"]["Command"] == ["topics", "apply"]
    assert containers["setup"]["Command"] == ["setup"]
    assert containers["setup"]["DependsOn"] == [
        {"ContainerName": "topics-apply", "Condition": "SUCCESS"}
    ]
    assert all(_is_skald_command(c["Command"]) for c in containers.values())


def test_services_start_only_after_the_migration_trigger(synth: Synth) -> None:
    (trigger,) = synth.of_type("Custom::Trigger")
    properties = synth.resources[trigger]["Properties"]
    # Waits (up to Lambda's 15 minutes) for the task; runs again when the function changes.
    assert properties["InvocationType"] == "RequestResponse"
    assert properties["Timeout"] == "900000"
    assert properties["ExecuteOnHandlerChange"] is True
    # ... and only once the task can reach ECR and Secrets Manager through NAT.
    nat_routes = [
        logical_id
        for logical_id, route in synth.of_type("AWS::EC2::Route").items()
        if "NatGatewayId" in route["Properties"]
    ]
    assert len(nat_routes) == 3
    assert set(nat_routes) <= set(synth.resources[trigger]["DependsOn"])
    for role, service in synth.stack.services.items():
        depends_on = synth.resources[synth.logical_id(service.service)]["DependsOn"]
        assert trigger in depends_on, role


def test_the_trigger_runs_the_current_migration_task_definition(synth: Synth) -> None:
    (function,) = [
        f
        for f in synth.of_type("AWS::Lambda::Function").values()
        if "TASK_DEFINITION_ARN" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["TASK_DEFINITION_ARN"] == {
        "Ref": synth.logical_id(synth.stack.migration.task.definition)
    }


def test_every_role_talks_to_msk_with_iam_in_its_namespace(synth: Synth) -> None:
    tasks = [synth.stack.migration.task, *(s.task for s in synth.stack.services.values())]
    for task in tasks:
        for name, container in _containers(synth, task).items():
            if name == "metrics":
                continue
            environment = _environment(container)
            assert environment["SKALD_NAMESPACE"] == NAMESPACE
            assert environment["SKALD_KAFKA_AUTH"] == "msk-iam"
            assert environment["SKALD_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
            assert environment["SKALD_TOPIC_REPLICATION"] == "3"
            assert environment["SKALD_TOPIC_MIN_INSYNC_REPLICAS"] == "2"


def test_every_variable_is_a_skald_setting_or_the_entrypoint_s(synth: Synth) -> None:
    settings = {f"SKALD_{name.upper()}" for name in Settings.model_fields}
    tasks = [synth.stack.migration.task, *(s.task for s in synth.stack.services.values())]
    for task in tasks:
        for name, container in _containers(synth, task).items():
            if name == "metrics":
                continue
            secrets = {s["Name"] for s in container.get("Secrets", [])}
            unknown = set(_environment(container)) - settings - NOT_SETTINGS
            assert not unknown, f"{name}: {unknown}"
            assert secrets <= NOT_SETTINGS


def test_passwords_are_secrets_and_the_dsn_holds_none(synth: Synth) -> None:
    api = _containers(synth, synth.stack.services["api"].task)["skald"]
    assert {s["Name"] for s in api["Secrets"]} == {"PGPASSWORD", "OPENSEARCH_PASSWORD"}
    dsn = synth.stack.resolve(_environment(api)["SKALD_PG_DSN"])
    text = "".join(p for p in dsn["Fn::Join"][1] if isinstance(p, str))
    assert text.startswith("postgresql://skald@") and "sslmode=verify-full" in text
    assert "secretsmanager" not in str(dsn)


def test_the_api_has_its_jwt_settings_and_listens_for_the_load_balancer(synth: Synth) -> None:
    environment = _environment(_containers(synth, synth.stack.services["api"].task)["skald"])
    assert set(AUTH_ENV_NAMES.values()) <= set(environment)
    assert set(AUTH_ENV_NAMES.values()) <= {f"SKALD_{n.upper()}" for n in Settings.model_fields}
    assert environment["SKALD_API_HOST"] == "0.0.0.0"
    assert environment["SKALD_API_PORT"] == "8000"
    others = [synth.stack.services[r].task for r in ("processor", "projector", "worker")]
    for task in others:
        assert not set(AUTH_ENV_NAMES.values()) & set(
            _environment(_containers(synth, task)["skald"])
        )


def test_only_roles_with_read_models_get_their_passwords(synth: Synth) -> None:
    for role in ("processor", "worker"):
        skald = _containers(synth, synth.stack.services[role].task)["skald"]
        assert "Secrets" not in skald
        assert "SKALD_PG_DSN" not in _environment(skald)


def test_projectors_export_metrics_through_their_collector(synth: Synth) -> None:
    containers = _containers(synth, synth.stack.services["projector"].task)
    assert _environment(containers["skald"])["SKALD_METRICS_PORT"] == "9464"
    assert containers["metrics"]["Essential"] is False
    config = str(synth.stack.resolve(_environment(containers["metrics"])["AOT_CONFIG_CONTENT"]))
    assert "localhost:9464" in config and f"namespace: Skald/{NAMESPACE}" in config
