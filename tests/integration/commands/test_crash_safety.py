"""kill -9 and SIGSTOP against the command processor, checked against the log itself."""

from __future__ import annotations

import signal
import time

from contexts.sales.aggregates import ORDER
from skald.services import Services
from tests.integration.commands.harness import (
    ProcessFactory,
    SkaldProcess,
    assert_contiguous,
    check_outcomes,
    read_events,
)
from tests.integration.commands.load import BackgroundLoad, mixed_commands, settle


def test_kill_9_under_load_loses_and_duplicates_nothing(
    services: Services, api: SkaldProcess, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    load = BackgroundLoad(api.url, mixed_commands(400)).start()
    load.wait_answered(120)
    processor.kill()
    replacement = spawn("processor-2", ["process"])
    replacement.wait_for_log("assigned")
    load.join()
    settle(api.url, load.attempts)

    events = read_events(services.settings, ORDER.events_topic, services.codec)
    assert_contiguous(events)
    check_outcomes(load.attempts, events)


def test_a_paused_processor_is_fenced_when_it_wakes(
    services: Services, api: SkaldProcess, processor: SkaldProcess, spawn: ProcessFactory
) -> None:
    load = BackgroundLoad(api.url, mixed_commands(300), concurrency=6).start()
    load.wait_answered(60)
    processor.signal(signal.SIGSTOP)  # a zombie: alive, holding its partitions, silent
    successor = spawn("processor-2", ["process"])
    successor.wait_for_log("assigned", timeout=90)  # after the zombie's session expired
    answered = load.answered()
    load.wait_answered(answered + 40)  # the successor is serving commands
    log_mark = len(processor.log())
    processor.signal(signal.SIGCONT)
    time.sleep(3)  # the zombie wakes, tries to go on with its stale batch and state
    load.join()
    settle(api.url, load.attempts)

    events = read_events(services.settings, ORDER.events_topic, services.codec)
    assert_contiguous(events)
    check_outcomes(load.attempts, events)
    woke = processor.log()[log_mark:]
    assert "fenced" in woke or "revoked" in woke, woke
