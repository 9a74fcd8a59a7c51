"""Skald: event sourcing and streaming on Apache Kafka."""
