"""The stock aggregate: one per SKU."""
