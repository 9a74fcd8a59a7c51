"""The command side's edge: the HTTP API, the command bus, and command and reply messages."""
