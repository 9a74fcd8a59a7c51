"""A replay built by several worker processes equals the fold of the log (invariant 6)."""

from __future__ import annotations

from projections.model import Sink
from projections.replay import Progress, Replay
from projections.workers import ProjectorGroup
from skald.projection_workers import replay_runner
from skald.registry import CONTEXTS
from skald.services import Services
from tests.integration.projections.actual import assert_models_equal
from tests.integration.projections.expected import fold_log
from tests.integration.projections.log_writer import LogWriter, scenario


def test_a_replay_built_by_three_worker_processes_equals_the_fold(
    services: Services, log_writer: LogWriter
) -> None:
    log_writer.write(scenario(orders=6_000, skus=20, stock_events=0, seed=5))
    # Small batches give the workers that join after the first time to get partitions. How
    # Kafka shares them out is its timing, not ours: on a quiet machine one worker has been
    # seen to finish alone, so the test holds the result, not the split.
    small = services.settings.model_copy(update={"projection_batch_size": 20})
    workers_services = Services(small, CONTEXTS)
    groups: list[ProjectorGroup] = []
    for name in ("sales.orders", "sales.order-search"):

        def three_workers(pinned: Sink, group: str, name: str = name) -> ProjectorGroup:
            runner = replay_runner(workers_services, name, pinned.generation(), group, workers=3)
            assert isinstance(runner, ProjectorGroup)
            groups.append(runner)
            return runner

        topics = services.projection_topics(name)
        sink = services.sink(name)
        # Swap only once caught up: no live projector runs here to finish the rest.
        job = Replay(sink, topics, services.reader(), three_workers, swap_within=0, drop_after=0)
        reports: list[Progress] = []
        assert job.run(job.plan("earliest"), reports.append) == 2
        assert reports[-1].swapped
        workers = groups[-1]
        assert workers.applied == job.plan("earliest").events
        assert len(workers.applied_by_worker()) == 3  # three processes, each in the group
    workers_services.close()
    assert_models_equal(services, fold_log(services))
