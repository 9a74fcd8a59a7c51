"""The deployable's Faust app: the framework's app with every context's workers wired in."""

from __future__ import annotations

from pathlib import Path

import faust

from processors.app import APP_NAME, build_app
from processors.faust_security import broker_credentials
from skald.services import Services


def worker_app(services: Services, datadir: Path) -> faust.App:
    """One app, one consumer group, every context's workers; LookupError if there are none."""
    workers = [worker for context in services.contexts for worker in context.workers]
    if not workers:
        raise LookupError("no context declares a worker")
    settings = services.settings
    app = build_app(
        settings.group(APP_NAME),
        settings.kafka_bootstrap,
        broker_credentials(settings.kafka_connection()),
        settings.topic_partitions,
        # Only for a topic Faust finds missing: `skald topics apply` declares them all (and
        # scales the replication down to a small cluster), so Faust creates nothing.
        settings.topic_replication,
        datadir,
    )
    for worker in workers:
        worker.wire(app, services)
    return app
