"""Builds the app the same way for `cdk deploy` and for the offline tests."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from skald_aws.config import DeploymentConfig
from skald_aws.nag import acknowledge_findings
from skald_aws.stack import SkaldStack


def build_app(app: cdk.App) -> SkaldStack:
    """The Skald stack for this app's context, checked by cdk-nag's AwsSolutions rules as a
    CDK policy-validation plugin: a finding not acknowledged fails `cdk synth` and `deploy`."""
    config = DeploymentConfig.from_context(app.node)
    stack = SkaldStack(app, f"Skald-{config.namespace}", config)
    acknowledge_findings(stack)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return stack
