"""The command side's edge: the HTTP API that validates commands and appends events."""
