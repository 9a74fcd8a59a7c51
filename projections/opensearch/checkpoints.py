"""The checkpoint index: next offsets and pending redrives of OpenSearch projections.

One document per (projection generation, partition), written after the batch's documents
succeed, with the offset as external version so a stale write can't move it back.
"""

from __future__ import annotations

from typing import Any

from opensearchpy import OpenSearch

from eventstore.position import Position
from projections.model import PartitionKey
from projections.opensearch.bulk import Action

MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "projection": {"type": "keyword"},
        "topic": {"type": "keyword"},
        "partition": {"type": "integer"},
        "next_offset": {"type": "long"},
    },
}


class CheckpointIndex:
    """One projection's documents in the shared checkpoint index."""

    def __init__(self, client: OpenSearch, index: str, projection: str) -> None:
        self._client = client
        self.index = index
        self._projection = projection

    def setup(self) -> None:
        if not self._client.indices.exists(index=self.index):
            self._client.indices.create(
                index=self.index,
                body={
                    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                    "mappings": MAPPINGS,
                },
                ignore=400,  # a concurrent setup created it
            )

    def read(self, generation: int, partitions: list[PartitionKey]) -> dict[PartitionKey, int]:
        """Next offsets of these partitions (a realtime get, no refresh needed)."""
        if not partitions:
            return {}
        ids = [self._checkpoint_id(generation, key) for key in partitions]
        found = self._client.mget(index=self.index, body={"ids": ids})
        return {
            (doc["_source"]["topic"], doc["_source"]["partition"]): doc["_source"]["next_offset"]
            for doc in found["docs"]
            if doc.get("found")
        }

    def read_all(self, generation: int) -> dict[PartitionKey, int]:
        return {
            (doc["topic"], doc["partition"]): doc["next_offset"]
            for doc in self._search(self._owner(generation))
        }

    def checkpoint(
        self, generation: int, key: PartitionKey, next_offset: int, via: str | None = None
    ) -> Action:
        """The checkpoint write, to this index or through the alias `via` (a fence)."""
        source = {
            "projection": self._owner(generation),
            "topic": key[0],
            "partition": key[1],
            "next_offset": next_offset,
        }
        # The offset is the external version: a stale checkpoint write can't move it back.
        meta = {
            "_index": via or self.index,
            "_id": self._checkpoint_id(generation, key),
            "version": next_offset,
            "version_type": "external",
        }
        return {"index": meta}, source

    def pending(self, generation: int, position: Position, via: str | None = None) -> Action:
        """The marker of a dead-lettered event not redriven yet."""
        owner = self._owner(generation) + "#pending"
        source = {
            "projection": owner,
            "topic": position.topic,
            "partition": position.partition,
            "next_offset": position.offset,
        }
        doc_id = f"{owner}:{position.topic}:{position.partition}:{position.offset}"
        return {"index": {"_index": via or self.index, "_id": doc_id}}, source

    def is_pending(self, generation: int, position: Position) -> bool:
        return bool(
            self._client.exists(index=self.index, id=self._pending_id(generation, position))
        )

    def clear_pending(self, generation: int, position: Position) -> None:
        marker = self._pending_id(generation, position)
        self._client.delete(index=self.index, id=marker, refresh="wait_for")

    def drop(self, generation: int) -> None:
        """Delete one generation's checkpoints and pending markers."""
        owners = [self._owner(generation), self._owner(generation) + "#pending"]
        ids = [doc["_id"] for owner in owners for doc in self._search(owner, ids=True)]
        if ids:
            body = [{"delete": {"_index": self.index, "_id": i}} for i in ids]
            self._client.bulk(body=body, refresh="wait_for")

    def _pending_id(self, generation: int, position: Position) -> str:
        return str(self.pending(generation, position)[0]["index"]["_id"])

    def _search(self, owner: str, ids: bool = False) -> list[dict[str, Any]]:
        self._client.indices.refresh(index=self.index)
        found = self._client.search(
            index=self.index,
            body={"size": 10_000, "query": {"term": {"projection": owner}}},
        )
        hits = found["hits"]["hits"]
        return [{"_id": h["_id"], **h["_source"]} if ids else h["_source"] for h in hits]

    def _owner(self, generation: int) -> str:
        return f"{self._projection}@v{generation}"

    def _checkpoint_id(self, generation: int, key: PartitionKey) -> str:
        return f"{self._owner(generation)}:{key[0]}:{key[1]}"
