"""What the code declares, read from Skald's registry: a new projection gets its alarms
without an edit here."""

from __future__ import annotations

from skald.registry import CONTEXTS


def projection_names() -> tuple[str, ...]:
    """Every read model `skald project` runs, PostgreSQL and OpenSearch alike."""
    names: list[str] = []
    for context in CONTEXTS:
        names += [projection.name for projection in context.postgres_projections]
        names += [projection.name for projection in context.opensearch_projections]
    return tuple(names)


def has_workers() -> bool:
    """Whether any context declares a Faust worker (else `skald worker` refuses to start)."""
    return any(context.workers for context in CONTEXTS)
