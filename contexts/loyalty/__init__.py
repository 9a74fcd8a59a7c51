"""Loyalty: points for confirmed orders, earned by choreography (no orchestrator)."""
