"""The command processor: the single writer of each partition of an aggregate type."""
