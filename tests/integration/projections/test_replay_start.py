"""Every `skald replay --from` form against a log whose orders straddle the start point:
the result equals a rebuild from scratch, or the command refuses, says why and changes
nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from eventstore.envelope import Headers
from projections.dead_letters import dead_letter_topic, read_dead_letters
from skald.services import Services
from tests.integration.kafka_probe import end_offsets
from tests.integration.projections.actual import assert_models_equal, wait_caught_up
from tests.integration.projections.expected import fold_log
from tests.integration.projections.in_process import projecting
from tests.integration.projections.log_writer import ORDERS, LogWriter, scenario
from tests.integration.running_service import environment, free_port

NAMES = ("sales.orders", "sales.order-search", "inventory.stock-levels")


def _skald(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skald", *args],
        env=environment(services.settings, free_port()),
        capture_output=True,
        text=True,
        timeout=180,
    )


def _straddling_log(services: Services, writer: LogWriter) -> str:
    """Orders placed before the returned time, confirmed/shipped/cancelled after it."""
    events = scenario(orders=300, skus=10, stock_events=200, seed=5)
    placed = [e for e in events if e.version == 1]
    writer.write(placed)
    time.sleep(1.5)  # record timestamps are the broker's clock: keep the halves apart
    start = datetime.now(UTC).isoformat()
    time.sleep(1.5)
    writer.write([e for e in events if e.version > 1])
    return start


def _unchanged(services: Services, output: str) -> None:
    """A refusal: a clear message, no traceback, no new generation, no dead letters."""
    assert "Traceback" not in output, output
    for name in ("sales.orders", "sales.order-search"):
        sink = services.sink(name)
        assert (sink.live_generation(), sink.building_generation()) == (1, None)
        topic = services.settings.topic(dead_letter_topic(name))
        assert read_dead_letters(services.reader(), topic) == []


@pytest.mark.parametrize("name", ["sales.orders", "sales.order-search"])
def test_from_0_rebuilds_what_a_rebuild_from_scratch_holds(
    services: Services, log_writer: LogWriter, name: str
) -> None:
    _straddling_log(services, log_writer)
    with projecting(services, *NAMES):
        wait_caught_up(services, NAMES)
        done = _skald(services, "replay", name, "--from", "0")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{name}: v2 is live; v1 dropped" in done.stderr
        wait_caught_up(services, NAMES)
    assert services.sink(name).live_generation() == 2
    assert_models_equal(services, fold_log(services))


def test_from_a_time_inside_the_orders_histories_is_refused(
    services: Services, log_writer: LogWriter
) -> None:
    start = _straddling_log(services, log_writer)
    with projecting(services, *NAMES):
        wait_caught_up(services, NAMES)
    for name in ("sales.orders", "sales.order-search"):
        done = _skald(services, "replay", name, "--from", start)
        assert done.returncode == 1, done.stdout + done.stderr
        message = " ".join(done.stderr.split())  # rich wraps long lines
        assert f"--from {start} would skip" in message
        assert f"events {name} applies" in message
        assert "(aggregate o-5-" in message  # names an order placed before the start
        assert f"skald replay {name} --from 0" in message
    _unchanged(services, done.stdout + done.stderr)
    assert_models_equal(services, fold_log(services))  # the live model is untouched


def test_from_partition_offsets_inside_the_histories_is_refused(
    services: Services, log_writer: LogWriter
) -> None:
    _straddling_log(services, log_writer)
    ends = end_offsets(services.settings.kafka_bootstrap, services.settings.topic(ORDERS))
    middle = ",".join(f"{p}:{end // 2}" for p, end in sorted(ends.items()))
    done = _skald(services, "replay", "sales.orders", "--from", middle, "--dry-run")
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    assert f"--from {middle} would skip" in message
    assert "skald replay sales.orders --from 0" in message
    # Only one partition moved on: the others start at 0, still the events before it skip.
    one = _skald(services, "replay", "sales.orders", "--from", "0:1", "--dry-run")
    assert one.returncode == 1 and "would skip 1 record," in " ".join(one.stderr.split())
    _unchanged(services, done.stdout + done.stderr + one.stdout + one.stderr)


def test_a_start_that_skips_only_records_the_projection_never_applies_is_allowed(
    services: Services, log_writer: LogWriter
) -> None:
    """Records of a type sales.orders doesn't project (routed on `ce_type`), then orders:
    starting after them is the same as starting from 0."""
    for n in range(30):
        headers: Headers = [
            ("ce_type", b"sales.order.GiftWrapped"),
            ("ce_subject", f"g-{n}".encode()),
        ]
        log_writer.raw(ORDERS, f"g-{n}".encode(), b"not avro", headers)
    log_writer.flush()
    time.sleep(1.5)
    start = datetime.now(UTC).isoformat()
    time.sleep(1.5)
    log_writer.write(scenario(orders=200, skus=5, stock_events=50, seed=9))
    with projecting(services, *NAMES):
        wait_caught_up(services, NAMES)
        done = _skald(services, "replay", "sales.orders", "--from", start)
        assert done.returncode == 0, done.stdout + done.stderr
        wait_caught_up(services, NAMES)
    assert services.sink("sales.orders").live_generation() == 2
    assert_models_equal(services, fold_log(services))


@pytest.mark.parametrize(
    ("start", "says"),
    [
        ("yesterday", "expected 0 (the beginning), an ISO-8601 time with a zone"),
        ("2026-01-01T00:00:00", "give a time zone"),
        ("0:x", "is not PARTITION:OFFSET"),
        ("7:0", "partition 7 not in"),
        ("0:-3", "expected 0 (the beginning)"),
        ("0:99999999", "is past it"),
    ],
)
def test_bad_start_forms_are_refused_with_a_message(
    services: Services, log_writer: LogWriter, start: str, says: str
) -> None:
    log_writer.write(scenario(orders=20, skus=2, stock_events=0, seed=3))
    done = _skald(services, "replay", "sales.orders", "--from", start)
    assert done.returncode == 1, done.stdout + done.stderr
    assert says in " ".join(done.stderr.split())
    _unchanged(services, done.stdout + done.stderr)
