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
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from eventstore.position import Position
from projections.model import (
    GenerationMoved,
    OpenSearchProjection,
    PartitionKey,
    ProjectedEvent,
    Row,
    TransientSinkError,
    behind,
)

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = {429, 502, 503, 504}
VERSION_CONFLICT = 409
Action = tuple[dict[str, Any], dict[str, Any] | None]


class BulkRejected(Exception):
    """Bulk items OpenSearch refused for good (a mapping conflict, a malformed document)."""


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
        self._checkpoint_index = checkpoint_index
        self._pinned = generation
        self._following: int | None = None
        self._max_attempts = max_attempts
        self.projection_name = projection.name

    # --- storage and generations -------------------------------------------------------

    def setup(self) -> None:
        """Create generation 1 behind the alias, and the checkpoint index."""
        if not self._client.indices.exists(index=self._checkpoint_index):
            self._client.indices.create(
                index=self._checkpoint_index,
                body={
                    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                    "mappings": {
                        "dynamic": "strict",
                        "properties": {
                            "projection": {"type": "keyword"},
                            "topic": {"type": "keyword"},
                            "partition": {"type": "integer"},
                            "next_offset": {"type": "long"},
                        },
                    },
                },
                ignore=400,  # a concurrent setup created it
            )
        if not self._client.indices.exists_alias(name=self._alias):
            self._create_index(1, {self._alias: {}})
        live = self.live_generation()
        self._client.indices.put_alias(index=self._index(live), name=self._writer(live))

    def _create_index(self, generation: int, aliases: dict[str, Any]) -> None:
        body = {
            "settings": self._projection.settings,
            "mappings": self._projection.mappings,
            "aliases": {**aliases, self._writer(generation): {}},
        }
        self._client.indices.create(index=self._index(generation), body=body)

    def _index(self, generation: int) -> str:
        return f"{self._alias}-v{generation}"

    def _writer(self, generation: int) -> str:
        return f"{self._alias}-v{generation}-writer"

    def _generations(self) -> list[int]:
        found = self._client.indices.get(index=f"{self._alias}-v*", ignore_unavailable=True)
        pattern = re.compile(re.escape(self._alias) + r"-v(\d+)$")
        return sorted(int(m[1]) for name in found if (m := pattern.match(name)))

    def handled_types(self) -> set[type]:
        return set(self._projection.handlers)

    def generation(self) -> int:
        if self._pinned is not None:
            return self._pinned
        if self._following is None:
            self._following = self.live_generation()
        return self._following

    def live_generation(self) -> int:
        found = self._client.indices.get_alias(name=self._alias)
        (index,) = found.keys()
        return int(index.rsplit("-v", 1)[1])

    def building_generation(self) -> int | None:
        live = self.live_generation()
        newer = [g for g in self._generations() if g > live]
        return max(newer) if newer else None

    def pinned(self, generation: int) -> OpenSearchSink:
        return OpenSearchSink(
            self._client, self._projection, self._alias, self._checkpoint_index, generation
        )

    def create_generation(self) -> int:
        new = max([self.live_generation(), *self._generations()]) + 1
        self._create_index(new, {})
        return new

    def checkpoints(self, generation: int) -> dict[PartitionKey, int]:
        return {
            (doc["topic"], doc["partition"]): doc["next_offset"]
            for doc in self._bookkeeping(self._owner(generation))
        }

    def seed_offsets(self, offsets: dict[PartitionKey, int]) -> None:
        generation = self.generation()
        self._bulk_checkpoints([self._checkpoint(generation, k, o) for k, o in offsets.items()])

    def swap(self, generation: int, force: bool = False) -> bool:
        live = self.live_generation()
        if live == generation:
            return True
        if not force and behind(self.checkpoints(generation), self.checkpoints(live)):
            return False
        # Make everything the new index holds searchable first: it must show no less than
        # the old one did at the moment queries move over.
        self._client.indices.refresh(index=self._index(generation))
        actions = [
            {"remove": {"index": self._index(live), "alias": self._alias}},
            {"add": {"index": self._index(generation), "alias": self._alias}},
        ]
        self._client.indices.update_aliases(body={"actions": actions})
        return True

    def drop_generation(self, generation: int) -> None:
        if generation == self.live_generation():
            raise ValueError(f"generation {generation} is live; swap before dropping it")
        self._client.indices.delete(index=self._index(generation), ignore=404)
        owners = [self._owner(generation), self._owner(generation) + "#pending"]
        ids = [doc["_id"] for owner in owners for doc in self._bookkeeping(owner, ids=True)]
        if ids:
            body = [{"delete": {"_index": self._checkpoint_index, "_id": i}} for i in ids]
            self._client.bulk(body=body, refresh="wait_for")

    def _bookkeeping(self, owner: str, ids: bool = False) -> list[dict[str, Any]]:
        self._client.indices.refresh(index=self._checkpoint_index)
        found = self._client.search(
            index=self._checkpoint_index,
            body={"size": 10_000, "query": {"term": {"projection": owner}}},
        )
        hits = found["hits"]["hits"]
        return [{"_id": h["_id"], **h["_source"]} if ids else h["_source"] for h in hits]

    # --- applying ----------------------------------------------------------------------

    def stored_offsets(self, partitions: list[PartitionKey]) -> dict[PartitionKey, int]:
        """Next offsets stored for these partitions (a realtime get, no refresh needed)."""
        if not partitions:
            return {}
        if self._pinned is None:
            self._following = self.live_generation()
        generation = self.generation()
        ids = [self._checkpoint_id(generation, key) for key in partitions]
        found = self._client.mget(index=self._checkpoint_index, body={"ids": ids})
        return {
            (doc["_source"]["topic"], doc["_source"]["partition"]): doc["_source"]["next_offset"]
            for doc in found["docs"]
            if doc.get("found")
        }

    def apply(
        self,
        batch: list[ProjectedEvent],
        next_offsets: dict[PartitionKey, int],
        dead_lettered: tuple[Position, ...] = (),
    ) -> None:
        """Index the batch's documents, then record dead letters and checkpoints."""
        generation = self._writing_generation()
        try:
            self._write(generation, batch, gate=True)
        except (BulkRejected, NotFoundError):
            self._writing_generation()  # raises GenerationMoved if that is why it failed
            raise
        writes = [self._pending(generation, p) for p in dead_lettered]
        writes += [self._checkpoint(generation, k, o) for k, o in next_offsets.items()]
        self._bulk_checkpoints(writes)

    def make_visible(self) -> None:
        """Refresh the live index: indexed is not yet searchable until the next refresh."""
        self._client.indices.refresh(index=self._alias)

    def redrive(self, event: ProjectedEvent) -> bool:
        """Apply a pending dead letter to the live generation, then clear its marker.

        Not one transaction: a crash between the two redrives again, which is safe because
        documents are whole states and `external_gte` rewrites the same version.
        """
        generation = self._pinned or self.live_generation()
        marker = self._pending(generation, event.position)[0]["index"]["_id"]
        if not self._client.exists(index=self._checkpoint_index, id=marker):
            return False
        self._write(generation, [event], gate=False)
        self._client.delete(index=self._checkpoint_index, id=marker, refresh="wait_for")
        return True

    def _writing_generation(self) -> int:
        if self._pinned is not None:
            return self._pinned
        live = self.live_generation()
        if self._following is not None and live != self._following:
            self._following = live
            raise GenerationMoved(f"{self.projection_name}: generation {live} is live now")
        self._following = live
        return live

    def _write(self, generation: int, batch: list[ProjectedEvent], gate: bool) -> None:
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
        self._bulk(actions, require_alias=True)

    def _bulk_checkpoints(self, actions: list[Action]) -> None:
        self._bulk(actions, require_alias=False)

    def _bulk(self, actions: list[Action], require_alias: bool) -> None:
        pending = actions
        for attempt in range(1, self._max_attempts + 1):
            if not pending:
                return
            body = [line for action in pending for line in action if line is not None]
            params = {"require_alias": "true"} if require_alias else {}
            response = self._client.bulk(body=body, params=params)
            if not response.get("errors"):
                return
            pending = self._failed_items(pending, response["items"])
            if pending:
                delay = min(0.05 * 2**attempt, 2.0)
                log.warning(
                    "%d bulk items throttled; retry %d in %.2fs", len(pending), attempt, delay
                )
                time.sleep(delay)
        if pending:
            raise TransientSinkError(f"{len(pending)} bulk items still throttled")

    @staticmethod
    def _failed_items(sent: list[Action], items: list[dict[str, Any]]) -> list[Action]:
        retry = []
        for action, item in zip(sent, items, strict=True):
            result = next(iter(item.values()))
            status = result.get("status", 500)
            if status < 300 or status == VERSION_CONFLICT:
                continue  # written, or a newer version already is
            if status == 404 and "delete" in item:
                continue  # already gone
            if status in RETRYABLE_STATUSES:
                retry.append(action)
                continue
            raise BulkRejected(f"document {result.get('_id')} refused: {result.get('error')}")
        return retry

    def _owner(self, generation: int) -> str:
        return f"{self.projection_name}@v{generation}"

    def _checkpoint_id(self, generation: int, key: PartitionKey) -> str:
        return f"{self._owner(generation)}:{key[0]}:{key[1]}"

    def _checkpoint(self, generation: int, key: PartitionKey, next_offset: int) -> Action:
        source = {
            "projection": self._owner(generation),
            "topic": key[0],
            "partition": key[1],
            "next_offset": next_offset,
        }
        # The offset is the external version: a stale checkpoint write can't move it back.
        meta = {
            "_index": self._checkpoint_index,
            "_id": self._checkpoint_id(generation, key),
            "version": next_offset,
            "version_type": "external",
        }
        return {"index": meta}, source

    def _pending(self, generation: int, position: Position) -> Action:
        owner = self._owner(generation) + "#pending"
        source = {
            "projection": owner,
            "topic": position.topic,
            "partition": position.partition,
            "next_offset": position.offset,
        }
        doc_id = f"{owner}:{position.topic}:{position.partition}:{position.offset}"
        return {"index": {"_index": self._checkpoint_index, "_id": doc_id}}, source
