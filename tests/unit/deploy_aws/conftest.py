"""One offline synth of the CDK app (deploy/aws) shared by every test here: no AWS
credentials, no network, placeholder account and certificate."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from skald.settings import REPO_ROOT

DEPLOY_DIR = REPO_ROOT / "deploy" / "aws"
if str(DEPLOY_DIR) not in sys.path:
    sys.path.insert(0, str(DEPLOY_DIR))
# jsii prints a banner for Node 20 (end of life) on every start; the app works the same.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from skald_aws.build import build_app  # noqa: E402
from skald_aws.stack import SkaldStack  # noqa: E402

NAMESPACE = "test"
CLUSTER = "skald-test"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
CONTEXT = {
    "namespace": NAMESPACE,
    "region": REGION,
    "account": ACCOUNT,
    "certificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-test",
}
# The other way to give the image: one already pushed (test_config_and_app.py synthesizes it).
REGISTRY_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/skald:test"


@dataclass(frozen=True)
class Synth:
    app: cdk.App
    stack: SkaldStack
    template: Template
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return resources

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}

    def logical_id(self, construct: Any) -> str:
        return str(self.stack.get_logical_id(construct.node.default_child))


def synthesize(outdir: Path, **context: str) -> Synth:
    """The app as `cdk synth` builds it (cdk-nag plugin included), into `outdir`."""
    app = cdk.App(context={**CONTEXT, **context}, outdir=str(outdir))
    stack = build_app(app)
    app.synth()
    return Synth(app, stack, Template.from_stack(stack), outdir)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """The default deployment: the image built from this checkout (a Docker asset)."""
    yield synthesize(tmp_path_factory.mktemp("cdk.out"))
