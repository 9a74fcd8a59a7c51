"""The fulfillment saga's timing, read from `SKALD_FULFILLMENT_*` variables (or `.env`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FulfillmentSettings(BaseSettings):
    """How long a step may take before compensation and how the watchdog and agent pace."""

    model_config = SettingsConfigDict(
        env_prefix="SKALD_FULFILLMENT_", env_file=".env", extra="ignore"
    )

    step_seconds: float = Field(
        30.0, gt=0, description="Deadline of a saga step before it is compensated"
    )
    redrive_seconds: float = Field(
        5.0, gt=0, description="How often the watchdog re-sends a stuck step's commands"
    )
    batch_size: int = Field(500, ge=1, description="Most messages one saga batch takes")
    batch_seconds: float = Field(
        0.005, ge=0, description="How long a saga batch waits for more messages"
    )
