"""The synthesized app passes cdk-nag's AwsSolutions pack with only reasoned acknowledgements,
and cfn-lint on the template."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks
from skald_aws.nag import REASONS

from tests.unit.deploy_aws.conftest import Synth

# cfn-lint rules left out, each for a reason:
CFN_LINT_IGNORED = [
    # Zones are named from the region (or -c availabilityZones) so synth needs no lookup.
    "W3010",
    # CDK writes DependsOn beside references that already order resources: redundant, harmless.
    "W3005",
]


# cfn-lint's console script, run by this interpreter (its package has no __main__).
CFN_LINT = "import sys; from cfnlint.runner import main; sys.exit(main())"


def test_aws_solutions_checks_pass(synth: Synth) -> None:
    report = AwsSolutionsChecks().validate_scope(synth.app)
    findings = [
        f"{violation.rule_name} at {[r.resource_logical_id for r in violation.violating_resources]}"
        for violation in report.violations
    ]
    assert report.success, findings


def test_an_unacknowledged_finding_fails_the_synth(tmp_path: Path) -> None:
    """The check is live: a bucket without SSL enforcement and logs stops `cdk synth`."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe")
    cdk.aws_s3.Bucket(stack, "Bare")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "AwsSolutions-S1" in report and "AwsSolutions-S10" in report


def test_every_acknowledgement_gives_its_reason(synth: Synth) -> None:
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ours = {
        rule.removeprefix("Annotation::"): reason
        for construct in synth.stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == key
        for rule, reason in entry.data.items()
        if rule.removeprefix("Annotation::").startswith("AwsSolutions-")
    }
    assert {rule.split("[", 1)[0] for rule in ours} == {
        "AwsSolutions-EC23",
        "AwsSolutions-ECS2",
        "AwsSolutions-SMG4",
        "AwsSolutions-RDS11",
        "AwsSolutions-S1",
        "AwsSolutions-OS3",
        "AwsSolutions-OS5",
        "AwsSolutions-IAM4",
        "AwsSolutions-IAM5",
    }
    assert set(ours.values()) <= set(REASONS.values())


def test_cfn_lint_passes_on_the_synthesized_template(synth: Synth) -> None:
    template = synth.outdir / f"{synth.stack.stack_name}.template.json"
    result = subprocess.run(
        [sys.executable, "-c", CFN_LINT, "--ignore-checks", *CFN_LINT_IGNORED, "--", str(template)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
