"""The projection runtime: consume event topics into read models with exactly-once effect."""
