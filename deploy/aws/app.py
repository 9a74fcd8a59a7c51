"""The CDK app: `cdk deploy` from deploy/aws/ (see README.md there)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import aws_cdk as cdk

HERE = Path(__file__).resolve().parent
# The deployment reads Skald's registry (projections get their alarms), so the repository
# root is importable, as is this folder's `skald_aws`.
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

from skald_aws.build import build_app  # noqa: E402


def main() -> None:
    app = cdk.App(context=_environment_defaults())
    build_app(app)
    app.synth()


def _environment_defaults() -> dict[str, str]:
    """The CLI's account and region when `-c region=...` / `-c account=...` are not given."""
    defaults = {}
    if region := os.environ.get("CDK_DEFAULT_REGION"):
        defaults["region"] = region
    if account := os.environ.get("CDK_DEFAULT_ACCOUNT"):
        defaults["account"] = account
    return defaults


if __name__ == "__main__":
    main()
