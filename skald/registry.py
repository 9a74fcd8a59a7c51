"""The bounded contexts this deployable runs. Add a context here to plug it in."""

from __future__ import annotations

from contexts.sales.context import sales
from skald.context import BoundedContext

CONTEXTS: tuple[BoundedContext, ...] = (sales,)
