"""Checks a schema directory: files laid out right, every subject evolving under its mode.

A subject is one event type (the record's full name). `compatibility.toml` in the schema
directory sets the mode, a global `default` plus per-subject overrides:

    default = "BACKWARD"
    [subjects]
    "sales.order.OrderPlaced" = "FULL"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from eventstore.compatibility import Mode, can_read, transition_problems
from eventstore.schemas import EventSchema, SchemaError, SchemaRepository
from eventstore.upcasting import Upcasters

CONFIG_FILE = "compatibility.toml"


@dataclass(frozen=True, slots=True)
class Policy:
    """The compatibility mode of every subject."""

    default: Mode = Mode.BACKWARD
    subjects: dict[str, Mode] = field(default_factory=dict)

    def mode(self, subject: str) -> Mode:
        return self.subjects.get(subject, self.default)


def load_policy(root: Path) -> Policy:
    """Read `compatibility.toml` from a schema directory; BACKWARD for all when absent."""
    path = root / CONFIG_FILE
    if not path.exists():
        return Policy()
    try:
        raw = tomllib.loads(path.read_text())
        default = Mode(str(raw.get("default", Mode.BACKWARD)).upper())
        subjects = {name: Mode(str(m).upper()) for name, m in raw.get("subjects", {}).items()}
    except (tomllib.TOMLDecodeError, ValueError, AttributeError) as error:
        modes = ", ".join(Mode)
        raise SchemaError(f"{path}: {error} (modes are {modes})") from error
    return Policy(default, subjects)


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report: a subject, optionally a version step, and what was found."""

    subject: str
    message: str
    versions: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = " -> ".join(f"v{v}" for v in self.versions)
        return (
            f"{self.subject}: {where}: {self.message}"
            if where
            else (f"{self.subject}: {self.message}")
        )


@dataclass(slots=True)
class Report:
    """Problems fail the check; notes (upcasted or unchecked steps) are said but pass."""

    subjects: int = 0
    schemas: int = 0
    transitions: int = 0
    problems: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)


def check(root: Path, repository: SchemaRepository, policy: Policy, upcasters: Upcasters) -> Report:
    """Every problem and note for the schemas under `root`."""
    report = Report()
    subjects = repository.event_types()
    for subject in subjects:
        versions = repository.versions(subject)
        report.subjects += 1
        report.schemas += len(versions)
        report.problems += layout_problems(root, subject, versions)
        for older, newer in pairwise(versions):
            report.transitions += 1
            _check_step(report, subject, older, newer, policy.mode(subject), upcasters)
    for name in sorted(set(policy.subjects) - set(subjects)):
        report.problems.append(Finding(name, f"named in {CONFIG_FILE} but has no schema"))
    for upcaster in upcasters:
        known = {s.version for s in repository.versions(upcaster.event_type)}
        if known and upcaster.to_version not in known:
            report.problems.append(
                Finding(
                    upcaster.event_type,
                    f"an upcaster is registered from v{upcaster.from_version}, "
                    f"but there is no v{upcaster.to_version}",
                )
            )
    return report


def layout_problems(root: Path, subject: str, versions: list[EventSchema]) -> list[Finding]:
    """Versions run 1..n, each file sits in its namespace's folder, no version is a copy."""
    problems: list[Finding] = []
    numbers = [schema.version for schema in versions]
    if numbers != list(range(1, len(numbers) + 1)):
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        problems.append(
            Finding(
                subject,
                f"versions {', '.join(map(str, numbers))} are not contiguous: missing "
                f"{', '.join(f'v{n}' for n in missing)} (versions must run 1..n)",
            )
        )
    namespace = subject.rpartition(".")[0]
    for schema in versions:
        folder = schema.path.parent.relative_to(root)
        if ".".join(folder.parts) != namespace:
            problems.append(
                Finding(
                    subject,
                    f"{schema.path.relative_to(root)} should lie in "
                    f"{namespace.replace('.', '/') or '.'}/ (its namespace)",
                    (schema.version,),
                )
            )
    for older, newer in pairwise(versions):
        if older.fingerprint == newer.fingerprint:
            problems.append(
                Finding(
                    subject,
                    "same canonical form (only docs or defaults differ): readers cannot tell "
                    "the versions apart by fingerprint; change the existing file instead",
                    (older.version, newer.version),
                )
            )
    return problems


def _check_step(
    report: Report,
    subject: str,
    older: EventSchema,
    newer: EventSchema,
    mode: Mode,
    upcasters: Upcasters,
) -> None:
    step = (older.version, newer.version)
    if mode is Mode.NONE:
        report.notes.append(Finding(subject, "not checked (mode NONE)", step))
        return
    upcasted = upcasters.covers(subject, older.version) and mode.needs_backward
    labels = (f"v{older.version}", f"v{newer.version}")
    problems = transition_problems(older.parsed, newer.parsed, mode, *labels, upcasted=upcasted)
    report.problems += [Finding(subject, str(problem), step) for problem in problems]
    if upcasted:
        avro_alone = can_read(newer.parsed, older.parsed, labels[1], labels[0])
        why = "; ".join(str(p) for p in avro_alone) or "Avro resolution would also do"
        report.notes.append(
            Finding(subject, f"allowed by a registered upcaster (Avro alone: {why})", step)
        )
