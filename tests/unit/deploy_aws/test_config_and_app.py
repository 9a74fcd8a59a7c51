"""The app's parameters fail clearly, and `python app.py` (what `cdk synth` runs) synthesizes
offline with cdk-nag as a validation plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from skald_aws.config import ConfigError, DeploymentConfig

from tests.unit.deploy_aws.conftest import CONTEXT, DEPLOY_DIR, REGISTRY_IMAGE, Synth


def _config(**overrides: str) -> DeploymentConfig:
    context = {k: v for k, v in {**CONTEXT, **overrides}.items() if v != ""}
    return DeploymentConfig.from_context(cdk.App(context=context).node)


def test_defaults_fill_what_is_not_given() -> None:
    config = _config()
    assert config.cluster_name == "skald-test"
    assert config.availability_zones == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert config.topic_partitions == 6


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"namespace": ""}, "context 'namespace' is required"),
        ({"namespace": "Prod-1"}, "must match"),
        ({"certificateArn": ""}, "context 'certificateArn' is required"),
        ({"certificateArn": "my-cert"}, "is not an ARN"),
        ({"region": ""}, "context 'region' is required"),
        ({"apiCount": "0"}, "'apiCount' must be an integer >= 1"),
        ({"jwtIssuer": "https://idp.example"}, "go together"),
        ({"availabilityZones": "eu-west-1a,eu-west-1b"}, "three zones of eu-west-1"),
    ],
)
def test_a_bad_parameter_is_named(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(**overrides)


def test_the_app_synthesizes_as_the_cdk_cli_runs_it(tmp_path: Path) -> None:
    """`cdk synth` runs `python3 app.py` with the context in CDK_CONTEXT_JSON and the output
    directory in CDK_OUTDIR; no AWS credentials are needed."""
    environment = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**CONTEXT, "image": REGISTRY_IMAGE}),
        "CDK_OUTDIR": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
    }
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=DEPLOY_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "Skald-test.template.json").read_text())
    assert "AWS::MSK::Cluster" in {r["Type"] for r in template["Resources"].values()}
    assert REGISTRY_IMAGE in (tmp_path / "Skald-test.template.json").read_text()
    # A plugin with a finding not acknowledged fails the synth (exit 1, ValidationFailed); a
    # passing one is left out of the report.
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert all(p["conclusion"] == "success" for p in report["pluginReports"]), report


def test_the_default_image_is_built_from_this_checkout(synth: Synth) -> None:
    """One Docker asset from the repository root with deploy/aws/Dockerfile; local state,
    caches and tests stay out of its context."""
    assets = json.loads((synth.outdir / "Skald-test.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    assert image["source"]["dockerFile"] == "deploy/aws/Dockerfile"
    staged = synth.outdir / image["source"]["directory"]
    assert (staged / "deploy" / "aws" / "Dockerfile").is_file()
    assert (staged / "skald" / "settings.py").is_file() and (staged / "schemas").is_dir()
    for kept_out in (".git", ".venv", ".stack", "tests", "bench"):
        assert not (staged / kept_out).exists(), kept_out
