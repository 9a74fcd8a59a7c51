"""The README stays true: every setting is documented, the two commands are on top."""

from __future__ import annotations

from skald.settings import REPO_ROOT, Settings

README = (REPO_ROOT / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [
        f"SKALD_{name.upper()}"
        for name in Settings.model_fields
        if f"`SKALD_{name.upper()}`" not in README
    ]
    assert not missing, f"document these in README.md's configuration table: {missing}"


def test_the_two_commands_open_the_readme() -> None:
    top = README[:1200]
    assert "make run" in top and "make test" in top
