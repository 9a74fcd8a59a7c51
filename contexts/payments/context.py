"""The payments context as Skald sees it."""

from __future__ import annotations

from contexts.payments.aggregates import PAYMENT
from skald.context import BoundedContext

payments = BoundedContext(name="payments", aggregates=(PAYMENT,))
