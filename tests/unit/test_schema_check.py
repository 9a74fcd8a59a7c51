"""`skald schemas check`: layout, per-subject modes, upcasters, and the command's exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eventstore.compatibility import Mode
from eventstore.schema_check import Policy, check, load_policy
from eventstore.schemas import SchemaError, SchemaRepository
from eventstore.upcasting import Upcaster, Upcasters
from skald.cli import app
from skald.settings import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "schemas"


def write(root: Path, relative: str, fields: list[dict[str, Any]], **extra: Any) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    name = path.name.split(".")[0]
    namespace = ".".join(Path(relative).parent.parts)
    schema = {"type": "record", "name": name, "namespace": namespace, "fields": fields, **extra}
    path.write_text(json.dumps(schema))


def lines(
    root: Path, policy: Policy | None = None, upcasters: Upcasters | None = None
) -> list[str]:
    repository = SchemaRepository.from_directory(root)
    report = check(root, repository, policy or load_policy(root), upcasters or Upcasters())
    return [str(p) for p in report.problems] + [f"note: {n}" for n in report.notes]


A = {"name": "a", "type": "string"}
B_NO_DEFAULT = {"name": "b", "type": "string"}


def test_versions_must_run_from_one_without_gaps(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A])
    write(tmp_path, "shop/cart/Opened.v3.avsc", [A, {**B_NO_DEFAULT, "default": ""}])
    assert lines(tmp_path) == [
        "shop.cart.Opened: versions 1, 3 are not contiguous: missing v2 (versions must run 1..n)"
    ]


def test_a_file_must_lie_in_its_namespace_folder(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A])
    (tmp_path / "shop/cart/Opened.v1.avsc").rename(tmp_path / "shop/Opened.v1.avsc")
    assert lines(tmp_path) == [
        "shop.cart.Opened: v1: shop/Opened.v1.avsc should lie in shop/cart/ (its namespace)"
    ]


def test_a_version_identical_to_the_previous_one_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A])
    write(tmp_path, "shop/cart/Opened.v2.avsc", [A], doc="only the docs changed")
    assert lines(tmp_path) == [
        "shop.cart.Opened: v1 -> v2: same canonical form (only docs or defaults differ): "
        "readers cannot tell the versions apart by fingerprint; change the existing file instead"
    ]


def test_a_file_name_that_does_not_match_its_record_fails_loading(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A])
    (tmp_path / "shop/cart/Opened.v1.avsc").rename(tmp_path / "shop/cart/Closed.v1.avsc")
    with pytest.raises(SchemaError, match="declares record 'Opened', file says 'Closed'"):
        SchemaRepository.from_directory(tmp_path)


def test_the_same_version_twice_fails_loading(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A])
    write(tmp_path, "shop/other/Opened.v1.avsc", [A])
    text = (tmp_path / "shop/other/Opened.v1.avsc").read_text()
    (tmp_path / "shop/other/Opened.v1.avsc").write_text(text.replace("shop.other", "shop.cart"))
    with pytest.raises(SchemaError, match=r"shop.cart.Opened v1 is declared twice"):
        SchemaRepository.from_directory(tmp_path)


def test_the_default_mode_is_backward_and_subjects_override_it(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A])
    write(tmp_path, "shop/cart/Opened.v2.avsc", [A, B_NO_DEFAULT])
    write(tmp_path, "shop/cart/Closed.v1.avsc", [A])
    write(tmp_path, "shop/cart/Closed.v2.avsc", [A, B_NO_DEFAULT])
    (tmp_path / "compatibility.toml").write_text(
        'default = "backward"\n[subjects]\n"shop.cart.Closed" = "NONE"\n'
    )
    assert load_policy(tmp_path) == Policy(Mode.BACKWARD, {"shop.cart.Closed": Mode.NONE})
    assert lines(tmp_path) == [
        "shop.cart.Opened: v1 -> v2: field b: v2 expects it, v1 does not write it, "
        "and v2 gives it no default",
        "note: shop.cart.Closed: v1 -> v2: not checked (mode NONE)",
    ]


def test_forward_mode_catches_a_removed_field(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A, B_NO_DEFAULT])
    write(tmp_path, "shop/cart/Opened.v2.avsc", [A])
    assert lines(tmp_path) == []
    assert lines(tmp_path, Policy(Mode.FORWARD)) == [
        "shop.cart.Opened: v1 -> v2: field b: v1 expects it, v2 does not write it, "
        "and v1 gives it no default"
    ]


def test_a_bad_mode_or_unknown_subject_in_the_config_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A])
    (tmp_path / "compatibility.toml").write_text('default = "SIDEWAYS"\n')
    with pytest.raises(SchemaError, match="modes are BACKWARD, FORWARD, FULL, NONE"):
        load_policy(tmp_path)
    (tmp_path / "compatibility.toml").write_text('[subjects]\n"shop.cart.Gone" = "FULL"\n')
    assert lines(tmp_path) == ["shop.cart.Gone: named in compatibility.toml but has no schema"]


def test_an_upcaster_allows_a_step_and_says_so(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A])
    write(tmp_path, "shop/cart/Opened.v2.avsc", [A, B_NO_DEFAULT])
    upcasters = Upcasters([Upcaster("shop.cart.Opened", 1, lambda r: {**r, "b": ""})])
    assert lines(tmp_path, upcasters=upcasters) == [
        "note: shop.cart.Opened: v1 -> v2: allowed by a registered upcaster (Avro alone: "
        "field b: v2 expects it, v1 does not write it, and v2 gives it no default)"
    ]


def test_an_upcaster_to_a_version_that_does_not_exist_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "shop/cart/Opened.v1.avsc", [A])
    upcasters = Upcasters([Upcaster("shop.cart.Opened", 1, dict)])
    assert lines(tmp_path, upcasters=upcasters) == [
        "shop.cart.Opened: an upcaster is registered from v1, but there is no v2"
    ]


# -- the command ----------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["schemas", "check", *args])


def test_the_repository_schemas_pass_and_the_upcast_step_is_noted() -> None:
    result = run()
    assert result.exit_code == 0, result.output
    assert "note: payments.payment.PaymentDeclined: v1 -> v2: allowed by a registered upcaster" in (
        result.stdout
    )
    assert "ok: " in result.stdout


def test_a_compatible_fixture_passes() -> None:
    result = run("--dir", str(FIXTURES / "compatible"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"ok: 2 subjects, 5 schemas, 3 version steps checked in {FIXTURES / 'compatible'}"
    )


def test_a_breaking_fixture_fails_naming_subject_versions_and_fields() -> None:
    result = run("--dir", str(FIXTURES / "breaking"))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "sales.order.OrderPlaced: v1 -> v2: field total_cents: v1 writes long, "
        "which v2 cannot read as int",
        "sales.order.OrderPlaced: v1 -> v2: field currency: v2 expects it, v1 does not write "
        "it, and v2 gives it no default",
    ]
    assert "2 schema problems" in result.stderr


def test_a_missing_directory_is_a_clean_error() -> None:
    result = run("--dir", "/nonexistent/schemas")
    assert result.exit_code == 1
    assert "schema directory /nonexistent/schemas does not exist" in result.stderr


def test_the_installed_command_exits_non_zero_on_the_breaking_fixture() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "skald", "schemas", "check", "--dir", str(FIXTURES / "breaking")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "sales.order.OrderPlaced: v1 -> v2: field currency" in done.stdout
