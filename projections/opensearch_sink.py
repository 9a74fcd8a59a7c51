"""OpenSearch sink: bulk writes with external versions, checkpoints after the bulk succeeds.

`version_type=external` makes every write idempotent and order-proof: a replayed or older
event's write is rejected with a version conflict, which counts as already applied.
Throttled (429) and transient (5xx) items are retried one by one with backoff.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from projections.model import IndexDocument, OpenSearchProjection, PartitionKey, ProjectedEvent

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = {429, 502, 503, 504}
VERSION_CONFLICT = 409


class BulkRejected(Exception):
    """Bulk items OpenSearch kept refusing, or refused for good."""


class OpenSearchSink:
    """Applies an OpenSearchProjection's handlers through the bulk API."""

    def __init__(
        self,
        client: OpenSearch,
        projection: OpenSearchProjection,
        alias: str,
        checkpoint_index: str,
        max_attempts: int = 8,
    ) -> None:
        self._client = client
        self._projection = projection
        self._alias = alias
        self._checkpoint_index = checkpoint_index
        self._max_attempts = max_attempts
        self.projection_name = projection.name

    def setup(self) -> None:
        """Create the first index version behind the alias, and the checkpoint index."""
        if not self._client.indices.exists_alias(name=self._alias):
            body = {
                "settings": self._projection.settings,
                "mappings": self._projection.mappings,
                "aliases": {self._alias: {"is_write_index": True}},
            }
            self._client.indices.create(index=f"{self._alias}-v1", body=body)
        if not self._client.indices.exists(index=self._checkpoint_index):
            self._client.indices.create(
                index=self._checkpoint_index,
                body={
                    "mappings": {
                        "dynamic": "strict",
                        "properties": {
                            "projection": {"type": "keyword"},
                            "topic": {"type": "keyword"},
                            "partition": {"type": "integer"},
                            "next_offset": {"type": "long"},
                        },
                    }
                },
            )

    def stored_offsets(self, partitions: list[PartitionKey]) -> dict[PartitionKey, int]:
        """Next offsets stored for these partitions (a realtime get, no refresh needed)."""
        if not partitions:
            return {}
        ids = [self._checkpoint_id(key) for key in partitions]
        try:
            found = self._client.mget(index=self._checkpoint_index, body={"ids": ids})
        except NotFoundError:
            return {}
        return {
            (doc["_source"]["topic"], doc["_source"]["partition"]): doc["_source"]["next_offset"]
            for doc in found["docs"]
            if doc.get("found")
        }

    def apply(self, batch: list[ProjectedEvent], next_offsets: dict[PartitionKey, int]) -> None:
        """Index the batch's documents, then record the checkpoints."""
        documents: list[IndexDocument] = []
        for item in batch:
            documents += self._projection.handlers[type(item.event)](item.event, item.envelope)
        self._bulk([_versioned_write(self._alias, doc) for doc in documents])
        self._bulk([self._checkpoint_write(key, offset) for key, offset in next_offsets.items()])

    def handled_types(self) -> set[type]:
        """Event classes with a handler."""
        return set(self._projection.handlers)

    def _bulk(self, actions: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        pending = actions
        for attempt in range(1, self._max_attempts + 1):
            if not pending:
                return
            body = [line for action in pending for line in action]
            response = self._client.bulk(body=body)
            if not response.get("errors"):
                return
            pending = self._failed_items(pending, response["items"])
            if pending:
                delay = min(0.05 * 2**attempt, 2.0)
                log.warning(
                    "%d bulk items throttled; retry %d in %.2fs", len(pending), attempt, delay
                )
                time.sleep(delay)
        raise BulkRejected(f"{len(pending)} items still rejected after {self._max_attempts} tries")

    @staticmethod
    def _failed_items(
        sent: list[tuple[dict[str, Any], dict[str, Any]]], items: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        retry = []
        for action, item in zip(sent, items, strict=True):
            result = next(iter(item.values()))
            status = result.get("status", 500)
            if status < 300 or status == VERSION_CONFLICT:
                continue  # written, or a newer version already is
            if status in RETRYABLE_STATUSES:
                retry.append(action)
                continue
            raise BulkRejected(f"document {result.get('_id')} refused: {result.get('error')}")
        return retry

    def _checkpoint_id(self, key: PartitionKey) -> str:
        return f"{self.projection_name}:{key[0]}:{key[1]}"

    def _checkpoint_write(
        self, key: PartitionKey, next_offset: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        source = {
            "projection": self.projection_name,
            "topic": key[0],
            "partition": key[1],
            "next_offset": next_offset,
        }
        # The offset is the external version: a stale checkpoint write can't move it back.
        meta = {
            "_index": self._checkpoint_index,
            "_id": self._checkpoint_id(key),
            "version": next_offset,
            "version_type": "external",
        }
        return {"index": meta}, source


def _versioned_write(alias: str, doc: IndexDocument) -> tuple[dict[str, Any], dict[str, Any]]:
    meta = {"_index": alias, "_id": doc.doc_id, "version": doc.version, "version_type": "external"}
    return {"index": meta}, doc.source
