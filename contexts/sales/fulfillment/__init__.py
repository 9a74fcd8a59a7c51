"""The order fulfillment saga: a process manager over sales, inventory and payments."""
