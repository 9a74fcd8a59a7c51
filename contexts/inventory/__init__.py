"""The inventory context: stock per SKU, restocked and reserved for orders."""
