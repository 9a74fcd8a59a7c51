"""Runs every `bench/bench_*.py` (or those named), prints one table, writes JSON."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

import bench
from bench.result import Result
from skald.settings import REPO_ROOT, Settings


def _modules(selected: list[str]) -> list[str]:
    names = sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
    )
    return [n for n in names if not selected or any(s in n for s in selected)]


def _table(results: list[Result]) -> Table:
    table = Table(title="Skald benchmarks")
    for column in ("benchmark", "value", "CPU µs/unit", "baseline", "ratio", "target", "met"):
        table.add_column(column)
    for r in results:
        baseline = f"{r.baseline_value:,.1f} ({r.baseline_name})" if r.baseline_value else "-"
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[r.met]
        cpu = f"{r.cpu_us:,.1f}" if r.cpu_us is not None else "-"
        if r.baseline_cpu_us is not None:
            cpu += f" (baseline {r.baseline_cpu_us:,.1f})"
        table.add_row(r.name, f"{r.value:,.1f} {r.unit}", cpu, baseline, ratio, r.target, met)
    return table


def main(selected: list[str]) -> int:
    console = Console()
    settings = Settings()
    results: list[Result] = []
    for name in _modules(selected):
        console.print(f"[bold]running {name}[/] …")
        started = time.monotonic()
        module = importlib.import_module(f"bench.{name}")
        results += module.run(settings)
        console.print(f"  done in {time.monotonic() - started:.1f} s")
    console.print(_table(results))
    out = REPO_ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    path = out / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps([r.to_json() for r in results], indent=2))
    console.print(f"written to {Path(path).relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
