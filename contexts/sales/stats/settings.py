"""The stream aggregates' window, read from `SKALD_STATS_*` variables (or `.env`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StatsSettings(BaseSettings):
    """How long an hour's bucket stays open for late sales, and how often closed ones go."""

    model_config = SettingsConfigDict(env_prefix="SKALD_STATS_", env_file=".env", extra="ignore")

    grace_hours: float = Field(
        48.0,
        ge=0,
        description="How long after its hour ends a bucket still counts sales; then it leaves "
        "the worker's table (its published value stays) and a later sale for it is dropped",
    )
    close_every_seconds: float = Field(
        60.0,
        gt=0,
        description="How often the stats worker looks for buckets to close (each look walks "
        "every bucket in its table)",
    )
