"""The payment aggregate: keyed by order id."""
