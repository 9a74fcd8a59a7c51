"""Invariant 6: a replay under live traffic never shows a half-built model, then swaps."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, inspect, select

from contexts.sales.read_models.orders import customer_order_summary, orders
from projections.postgres.storage import generation_schema
from skald.services import Services
from tests.integration.projections.actual import assert_models_equal, wait_caught_up
from tests.integration.projections.expected import fold_log
from tests.integration.projections.log_writer import LogWriter, scenario
from tests.integration.projections.processes import ProjectorProcess
from tests.integration.running_service import environment, free_port

NAMES = ("sales.orders", "sales.order-search", "inventory.stock-levels")


class Observer(threading.Thread):
    """Reads the models over and over: each read must be a complete model, never smaller
    than the one before (a half-built generation would show fewer orders)."""

    def __init__(self, services: Services) -> None:
        super().__init__(daemon=True)
        self.services = services
        self.stop = threading.Event()
        self.reads = 0
        self.violations: list[str] = []

    def run(self) -> None:
        try:
            self._observe()
        except Exception as error:  # a failed query during the replay is a failure too
            self.violations.append(f"query failed: {error}")

    def _observe(self) -> None:
        last_rows = last_docs = 0
        alias = self.services.settings.index("orders")
        while not self.stop.is_set():
            with self.services.engine.connect() as conn:
                rows, summed = conn.execute(
                    select(
                        select(func.count()).select_from(orders).scalar_subquery(),
                        select(
                            func.coalesce(func.sum(customer_order_summary.c.orders), 0)
                        ).scalar_subquery(),
                    )
                ).one()
            docs = self.services.opensearch.count(index=alias)["count"]
            if rows != summed:
                self.violations.append(f"orders {rows} but summaries count {summed}")
            if rows < last_rows or docs < last_docs:
                self.violations.append(
                    f"went back: rows {last_rows}->{rows} docs {last_docs}->{docs}"
                )
            last_rows, last_docs = rows, docs
            self.reads += 1
            time.sleep(0.02)


def _traffic(writer: LogWriter, stop: threading.Event) -> None:
    seed = 100
    while not stop.is_set():
        writer.write(scenario(orders=40, skus=5, stock_events=20, seed=seed))
        seed += 1
        time.sleep(0.1)


def _replay(services: Services, name: str, log: Path) -> None:
    env = environment(services.settings, free_port())
    done = subprocess.run(
        [sys.executable, "-m", "skald", "replay", name, "--from", "earliest"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    log.write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{name}: v2 is live; v1 dropped" in done.stderr


def test_replay_from_earliest_under_live_traffic(
    services: Services, log_writer: LogWriter, tmp_path: Path
) -> None:
    log_writer.write(scenario(orders=4_000, skus=50, stock_events=4_000, seed=1))
    live = ProjectorProcess(services.settings, NAMES, tmp_path / "live.log")
    wait_caught_up(services, NAMES)
    observer = Observer(services)
    observer.start()
    stop = threading.Event()
    traffic = threading.Thread(target=_traffic, args=(LogWriter(services), stop), daemon=True)
    traffic.start()
    try:
        for name in NAMES:
            _replay(services, name, tmp_path / f"replay-{name}.log")
            live.assert_alive()
    finally:
        stop.set()
        traffic.join(30)
    wait_caught_up(services, NAMES)
    observer.stop.set()
    observer.join(10)
    live.stop()
    assert observer.violations == []
    assert observer.reads > 20
    for name in NAMES:
        assert services.sink(name).live_generation() == 2
    schema = services.settings.pg_schema
    schemas = set(inspect(services.engine).get_schema_names())
    for name in ("sales.orders", "inventory.stock-levels"):
        assert generation_schema(schema, name, 2) in schemas  # the live generation
        assert generation_schema(schema, name, 1) not in schemas  # dropped whole
    assert not services.opensearch.indices.exists(index=services.settings.index("orders") + "-v1")
    assert "now writes generation 2" in (tmp_path / "live.log").read_text()
    assert_models_equal(services, fold_log(services))
