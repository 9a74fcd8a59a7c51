"""The fulfillment saga's own topics (declared by the sales context) and the ones it reads."""

from __future__ import annotations

from eventstore.topics import TopicSpec

# Participants' replies to the saga's commands, keyed by correlation id.
REPLIES = TopicSpec(
    "sales.fulfillment.replies", {"cleanup.policy": "delete", "retention.ms": "604800000"}
)
# Replies and watchdog ticks re-keyed by order id: co-partitioned with the orders and the table.
INBOX = TopicSpec(
    "sales.fulfillment.inbox", {"cleanup.policy": "delete", "retention.ms": "604800000"}
)
SAGA_TOPICS = (REPLIES, INBOX)
TABLE = "sagas"  # its changelog is `<app id>-sagas-changelog`: the saga states, keyed by order id
