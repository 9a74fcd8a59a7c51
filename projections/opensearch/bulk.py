"""The bulk API, item by item: throttled items retry with backoff, refused ones raise."""

from __future__ import annotations

import logging
import time
from typing import Any

from opensearchpy import OpenSearch

from projections.model import TransientSinkError

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = {429, 502, 503, 504}
VERSION_CONFLICT = 409
Action = tuple[dict[str, Any], dict[str, Any] | None]  # (action line, source or None)


class BulkRejected(Exception):
    """Bulk items OpenSearch refused for good (a mapping conflict, a malformed document)."""


class BulkWriter:
    """Sends bulk requests; a version conflict counts as done (a newer write is there)."""

    def __init__(self, client: OpenSearch, max_attempts: int = 6) -> None:
        self._client = client
        self.max_attempts = max_attempts

    def send(self, actions: list[Action], require_alias: bool) -> None:
        """Write every action, or raise TransientSinkError if some stay throttled and
        BulkRejected if one is refused."""
        pending = actions
        for attempt in range(1, self.max_attempts + 1):
            if not pending:
                return
            body = [line for action in pending for line in action if line is not None]
            params = {"require_alias": "true"} if require_alias else {}
            response = self._client.bulk(body=body, params=params)
            if not response.get("errors"):
                return
            pending = failed_items(pending, response["items"])
            if pending:
                delay = min(0.05 * 2**attempt, 2.0)
                log.warning(
                    "%d bulk items throttled; retry %d in %.2fs", len(pending), attempt, delay
                )
                time.sleep(delay)
        if pending:
            raise TransientSinkError(f"{len(pending)} bulk items still throttled")


def failed_items(sent: list[Action], items: list[dict[str, Any]]) -> list[Action]:
    """The actions to retry; raises BulkRejected for one that can never succeed."""
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
