"""The inventory context as Skald sees it."""

from __future__ import annotations

from contexts.inventory.aggregates import STOCK
from skald.context import BoundedContext

inventory = BoundedContext(name="inventory", aggregates=(STOCK,))
