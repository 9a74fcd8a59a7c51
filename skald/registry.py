"""The bounded contexts this deployable runs. Add a context here to plug it in."""

from __future__ import annotations

from contexts.inventory.context import inventory
from contexts.loyalty.context import loyalty
from contexts.payments.context import payments
from contexts.sales.context import sales
from skald.context import BoundedContext

CONTEXTS: tuple[BoundedContext, ...] = (sales, inventory, payments, loyalty)
