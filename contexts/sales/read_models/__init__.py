"""Read models of the sales context."""
