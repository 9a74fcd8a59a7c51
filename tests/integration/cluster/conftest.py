"""A three-node KRaft cluster for the module's fault tests, and Skald's processes on it.

The cluster runs from the local stack's Kafka jars (deploy/local/stacklib/cluster.py) on free
ports, with its data in the test's temporary directory; PostgreSQL and OpenSearch are the
shared stack's. Each test gets a fresh namespace whose topics have replication 3 and
`min.insync.replicas=2`, the MSK shape, and starts on a whole, fully replicated cluster.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Generator, Iterator

import pytest

from skald.settings import Settings
from tests.integration.cluster.nodes import KafkaCluster, make_layout, three_nodes
from tests.integration.cluster.replicas import wait_fully_replicated
from tests.integration.commands.conftest import spawn
from tests.integration.commands.harness import ProcessFactory, SkaldProcess
from tests.integration.conftest import fresh_settings, group_coordinator_ready
from tests.integration.running_service import free_port
from tests.integration.stack import Endpoints
from tests.integration.throwaway_kafka import kafka_libs

__all__ = ["spawn"]  # the command tests' process factory, used here as it is


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    libs = kafka_libs()
    assert libs is not None, "no Kafka distribution: run deploy/local/stack.py up first"
    ports = (free_port(), free_port(), free_port())
    controllers = (free_port(), free_port(), free_port())
    nodes = three_nodes(tmp_path_factory.mktemp("cluster"), make_layout(), libs, ports, controllers)
    nodes.prepare()
    try:
        for node_id in nodes.nodes:
            nodes.start(node_id)
        nodes.wait_serving()
        group_coordinator_ready(nodes.bootstrap)
        yield nodes
    finally:
        nodes.stop_all()


@pytest.fixture
def whole_cluster(cluster: KafkaCluster) -> KafkaCluster:
    """Every node running and every partition on all three replicas (a test before this one
    may have left a node down)."""
    for node_id in cluster.nodes:
        if cluster.pid(node_id) is None:
            cluster.start(node_id)
    cluster.wait_serving()
    wait_fully_replicated(cluster.bootstrap)
    return cluster


@pytest.fixture
def settings(endpoints: Endpoints, whole_cluster: KafkaCluster) -> Settings:
    """The test's namespace on the cluster, its topics created as on MSK."""
    base = fresh_settings(endpoints, whole_cluster.bootstrap)
    return base.model_copy(update={"topic_replication": 3, "topic_min_insync_replicas": 2})


@pytest.fixture
def api(spawn: ProcessFactory) -> SkaldProcess:
    """The API without its backlog monitor (admission is not under test, as in the broker
    stall test), with a stack dump should it crash."""
    process = spawn("api", ["api"], {"SKALD_ADMISSION_ENABLED": "false", "PYTHONFAULTHANDLER": "1"})
    process.wait_healthy()
    return process


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, for fixtures that act on a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def processor(spawn: ProcessFactory, request: pytest.FixtureRequest) -> Iterator[SkaldProcess]:
    process = spawn("processor", ["process"], {"PYTHONFAULTHANDLER": "1"})
    process.wait_for_log("assigned", timeout=120)
    yield process
    report = getattr(request.node, "report_call", None)
    running = process.process is not None and process.process.poll() is None
    if report is not None and report.failed and running and process.process is not None:
        # A processor that stopped making progress: SIGABRT makes faulthandler write every
        # thread's stack to its log (kept in the test's temporary directory).
        process.signal(signal.SIGABRT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.process.wait(10)
