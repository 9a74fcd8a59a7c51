"""Read models of the inventory context."""
