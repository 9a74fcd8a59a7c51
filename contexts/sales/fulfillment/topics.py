"""The fulfillment saga's own topics and its table (declared by the sales context)."""

from __future__ import annotations

from eventstore.topics import TopicSpec
from processors.app import changelog_spec, changelog_topic

# Participants' replies to the saga's commands, keyed by correlation id.
REPLIES = TopicSpec(
    "sales.fulfillment.replies", {"cleanup.policy": "delete", "retention.ms": "604800000"}
)
# Replies and watchdog ticks re-keyed by order id: co-partitioned with the orders and the table.
INBOX = TopicSpec(
    "sales.fulfillment.inbox", {"cleanup.policy": "delete", "retention.ms": "604800000"}
)
# The saga states, keyed by order id; its changelog feeds the `sales.sagas` read model.
TABLE = "sales_fulfillment_sagas"
CHANGELOG = changelog_topic(TABLE)
SAGA_TOPICS = (REPLIES, INBOX, changelog_spec(TABLE))
