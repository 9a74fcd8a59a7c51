"""OpenSearch sink: fold documents in memory, bulk them with external versions, checkpoint.

Later events (confirm, cancel, ship) carry only what changed, so the sink reads the
batch's current documents with one realtime mget, folds the events in order and indexes
each whole document once, with the aggregate version as the external version: a
replayed, duplicate or older write is refused by OpenSearch (409, counted as done) and
events at or below a document's version are skipped before writing. Checkpoints are
written after the documents succeed. Throttled (429) and 5xx items are retried item by
item with backoff; if they stay throttled the batch fails as transient (never a dead
letter). Generations are indices `<alias>-v<n>`, each written through its own
`<alias>-v<n>-writer` alias with `require_alias`, so a writer that missed a swap can't
re-create a dropped index; queries read `<alias>`, swapped atomically.

OpenSearch has no lock a swap could take against live batches (PostgreSQL's swap waits
for them on the registry row), so the swap fences instead: it removes the live
generation's writer aliases (documents, and checkpoints through
`<alias>-v<n>-checkpoint-writer` on the checkpoint index) in one atomic alias update,
then compares checkpoints, which can no longer move, then moves the read alias. A live
batch caught by the fence fails its write; it raises GenerationMoved once the swap is
done, or retries as transient if the swap backed off and restored the aliases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from eventstore.position import Position
from projections.generations import GenerationTracker
from projections.model import (
    OpenSearchProjection,
    PartitionKey,
    Projected,
    ProjectedEvent,
    Row,
    TransientSinkError,
    behind,
)
from projections.opensearch.bulk import Action, BulkRejected, BulkWriter
from projections.opensearch.checkpoints import CheckpointIndex


class OpenSearchSink:
    """Applies an OpenSearchProjection through the bulk API, per generation."""

    def __init__(
        self,
        client: OpenSearch,
        projection: OpenSearchProjection,
        alias: str,
        checkpoint_index: str,
        generation: int | None = None,
        max_attempts: int = 6,
    ) -> None:
        self._client = client
        self._projection = projection
        self._alias = alias
        self._checkpoints = CheckpointIndex(client, checkpoint_index, projection.name)
        self._bulk = BulkWriter(client, max_attempts)
        self._generations = GenerationTracker(projection.name, self.live_generation, generation)
        self.projection_name = projection.name

    # --- storage and generations -------------------------------------------------------

    def setup(self) -> None:
        """Create generation 1 behind the alias, and the checkpoint index."""
        self._checkpoints.setup()
        if not self._client.indices.exists_alias(name=self._alias):
            self._create_index(1, {self._alias: {}})
        self._open(self.live_generation())
        building = self.building_generation()
        if building is not None:
            self._open(building)

    def _create_index(self, generation: int, aliases: dict[str, Any]) -> None:
        body = {
            "settings": self._projection.settings,
            "mappings": self._projection.mappings,
            "aliases": {**aliases, self._writer(generation): {}},
        }
        self._client.indices.create(index=self._index(generation), body=body)
        self._open(generation)

    def _index(self, generation: int) -> str:
        return f"{self._alias}-v{generation}"

    def _writer(self, generation: int) -> str:
        return f"{self._alias}-v{generation}-writer"

    def _checkpoint_writer(self, generation: int) -> str:
        return f"{self._alias}-v{generation}-checkpoint-writer"

    def _writer_aliases(self, generation: int, action: str) -> list[dict[str, Any]]:
        """Alias actions adding or removing both writer aliases of a generation."""
        return [
            {action: {"index": self._index(generation), "alias": self._writer(generation)}},
            {
                action: {
                    "index": self._checkpoints.index,
                    "alias": self._checkpoint_writer(generation),
                }
            },
        ]

    def _open(self, generation: int) -> None:
        """Let batches write this generation (idempotent): both writer aliases exist."""
        self._client.indices.update_aliases(
            body={"actions": self._writer_aliases(generation, "add")}
        )

    def _fence(self, generation: int) -> None:
        """Refuse every later write to this generation's documents and checkpoints."""
        self._client.indices.update_aliases(
            body={"actions": self._writer_aliases(generation, "remove")}
        )

    def _generations_stored(self) -> list[int]:
        found = self._client.indices.get(index=f"{self._alias}-v*", ignore_unavailable=True)
        pattern = re.compile(re.escape(self._alias) + r"-v(\d+)$")
        return sorted(int(m[1]) for name in found if (m := pattern.match(name)))

    def handled_types(self) -> set[type]:
        return set(self._projection.handlers)

    def generation(self) -> int:
        return self._generations.current()

    def live_generation(self) -> int:
        found = self._client.indices.get_alias(name=self._alias)
        (index,) = found.keys()
        return int(index.rsplit("-v", 1)[1])

    def building_generation(self) -> int | None:
        live = self.live_generation()
        newer = [g for g in self._generations_stored() if g > live]
        return max(newer) if newer else None

    def pinned(self, generation: int) -> OpenSearchSink:
        return OpenSearchSink(
            self._client,
            self._projection,
            self._alias,
            self._checkpoints.index,
            generation,
            self._bulk.max_attempts,
        )

    def create_generation(self) -> int:
        new = max([self.live_generation(), *self._generations_stored()]) + 1
        self._create_index(new, {})
        return new

    def checkpoints(self, generation: int) -> dict[PartitionKey, int]:
        return self._checkpoints.read_all(generation)

    def seed_offsets(self, offsets: dict[PartitionKey, int]) -> None:
        generation = self.generation()
        writes = [self._checkpoints.checkpoint(generation, k, o) for k, o in offsets.items()]
        self._bulk.send(writes, require_alias=False)

    def swap(self, generation: int, force: bool = False) -> bool:
        """Fence the live generation, then make `generation` live if it is not behind.

        Two processes must not swap one projection at once (one replay at a time).
        """
        live = self.live_generation()
        if live == generation:
            return True
        if not force and behind(self.checkpoints(generation), self.checkpoints(live)):
            return False  # not even close: no need to stop the live writers
        self._fence(live)
        try:
            # The live checkpoints are frozen now: this comparison stays true.
            if not force and behind(self.checkpoints(generation), self.checkpoints(live)):
                self._open(live)
                return False
            # Make everything the new index holds searchable first: it must show no less
            # than the old one did at the moment queries move over.
            self._client.indices.refresh(index=self._index(generation))
            actions = [
                {"remove": {"index": self._index(live), "alias": self._alias}},
                {"add": {"index": self._index(generation), "alias": self._alias}},
            ]
            self._client.indices.update_aliases(body={"actions": actions})
        except BaseException:
            if self.live_generation() == live:
                self._open(live)  # the swap did not happen: let the live writers go on
            raise
        return True

    def drop_generation(self, generation: int) -> None:
        if generation == self.live_generation():
            raise ValueError(f"generation {generation} is live; swap before dropping it")
        self._client.indices.delete(index=self._index(generation), ignore=404)
        self._client.indices.delete_alias(
            index=self._checkpoints.index, name=self._checkpoint_writer(generation), ignore=404
        )
        self._checkpoints.drop(generation)

    # --- applying ----------------------------------------------------------------------

    def stored_offsets(self, partitions: list[PartitionKey]) -> dict[PartitionKey, int]:
        """Next offsets stored for these partitions (a realtime get, no refresh needed)."""
        if not partitions:
            return {}
        return self._checkpoints.read(self._generations.refresh(), partitions)

    def apply(
        self,
        batch: Sequence[Projected],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...] = (),
    ) -> None:
        """Index the batch's documents, then record dead letters and checkpoints.

        The generation is the one we follow, not read per batch: a swap fences it before it
        moves the read alias, so a batch that writes it after a swap is refused and
        `_fenced` raises GenerationMoved. (Reading the alias first cost a request, a quarter
        of a small batch's CPU, and the fence was needed anyway for batches in flight.)
        """
        generation = self._generations.current()
        via = self._checkpoint_writer(generation)
        try:
            self._write(generation, batch, gate=True)
            writes = [self._checkpoints.pending(generation, p, via) for p in dead_lettered]
            writes += [
                self._checkpoints.checkpoint(generation, k, o, via) for k, o in next_offsets.items()
            ]
            self._bulk.send(writes, require_alias=True)
        except (BulkRejected, NotFoundError):
            self._fenced(generation)
            raise

    def _fenced(self, generation: int) -> None:
        """After a refused write: raise GenerationMoved if a swap is why, or
        TransientSinkError while a swap's fence is up; return if neither (a bad document)."""
        self._generations.writing()  # raises GenerationMoved if a swap happened
        documents = self._client.indices.exists_alias(name=self._writer(generation))
        checkpoints = self._client.indices.exists_alias(name=self._checkpoint_writer(generation))
        if documents and not checkpoints:
            self._open(generation)  # a generation made before checkpoint writer aliases
        if not (documents and checkpoints):
            raise TransientSinkError(
                f"{self.projection_name} v{generation}: writes fenced by a swap in progress"
            )

    def make_visible(self) -> None:
        """Refresh the live index: indexed is not yet searchable until the next refresh."""
        self._client.indices.refresh(index=self._alias)

    def redrive(self, event: Projected) -> bool:
        """Apply a pending dead letter to the live generation, then clear its marker.

        Not one transaction: a crash between the two redrives again, which is safe because
        documents are whole states and `external_gte` rewrites the same version.
        """
        generation = self._generations.redrive_target()
        if not self._checkpoints.is_pending(generation, event.position):
            return False
        self._write(generation, [event], gate=False)
        self._checkpoints.clear_pending(generation, event.position)
        return True

    def _write(self, generation: int, items: Sequence[Projected], gate: bool) -> None:
        batch = [item for item in items if isinstance(item, ProjectedEvent)]  # no state topics
        if not batch:
            return
        writer = self._writer(generation)
        ids = sorted({self._projection.doc_id(item.event) for item in batch})
        found = self._client.mget(index=writer, body={"ids": ids}, realtime=True)
        before: dict[str, Row | None] = {
            doc["_id"]: doc["_source"] for doc in found["docs"] if doc.get("found")
        }
        after = dict(before)
        for item in batch:
            doc_id = self._projection.doc_id(item.event)
            doc = after.get(doc_id)
            if gate and doc is not None and item.envelope.aggregate_version <= doc["version"]:
                continue
            after[doc_id] = self._projection.handlers[type(item.event)](
                doc, item.event, item.envelope
            )
        version_type = "external" if gate else "external_gte"
        actions: list[Action] = []
        for doc_id, doc in after.items():
            if doc is before.get(doc_id):
                continue
            meta = {"_index": writer, "_id": doc_id, "version_type": version_type}
            if doc is None:
                old = before.get(doc_id) or {}
                actions.append(({"delete": {**meta, "version": old.get("version", 0) + 1}}, None))
            else:
                actions.append(({"index": {**meta, "version": doc["version"]}}, doc))
        self._bulk.send(actions, require_alias=True)
