"""The compose file and the native stack use the versions pinned in deploy/versions.env."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from skald.settings import REPO_ROOT
from tests.integration.stack import versions

COMPOSE_FILE = REPO_ROOT / "deploy" / "docker-compose.yml"


def test_compose_defaults_equal_the_pinned_versions() -> None:
    lines = [
        line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    defaults = dict(re.findall(r"\$\{([A-Z_]+):-([^}]+)\}", "\n".join(lines)))
    pinned = versions()
    assert defaults, "the compose file should pin image versions through ${VAR:-default}"
    for name, default in defaults.items():
        assert pinned[name] == default, (
            f"{name}: compose says {default}, versions.env {pinned[name]}"
        )


def _compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_plugin(), reason="the docker client has no compose plugin here")
def test_docker_compose_accepts_the_file() -> None:
    env_file = REPO_ROOT / "deploy" / "versions.env"
    result = subprocess.run(
        ["docker", "compose", "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
