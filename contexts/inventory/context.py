"""The inventory context as Skald sees it."""

from __future__ import annotations

from contexts.inventory.aggregates import STOCK
from contexts.inventory.api import command_routes
from skald.context import BoundedContext

inventory = BoundedContext(name="inventory", aggregates=(STOCK,), routes=(command_routes,))
