"""Faust stream processors: sagas and stream aggregates (see the processors issue)."""
