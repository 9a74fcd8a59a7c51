"""The fulfillment saga's timing, read from `SKALD_FULFILLMENT_*` variables (or `.env`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contexts.sales.fulfillment.saga import Timing


class FulfillmentSettings(BaseSettings):
    """How long a step may take before compensation and how the watchdog and agent pace."""

    model_config = SettingsConfigDict(
        env_prefix="SKALD_FULFILLMENT_", env_file=".env", extra="ignore"
    )

    step_seconds: float = Field(
        30.0,
        gt=0,
        description="How long a reserving or authorizing step's participant may make no "
        "progress on queued commands before the saga compensates",
    )
    redrive_seconds: float = Field(
        5.0, gt=0, description="First re-send of a step whose answer is truly missing"
    )
    max_resends: int = Field(5, ge=0, description="Re-sends per phase before a timed step fails")
    max_backoff_seconds: float = Field(
        60.0, gt=0, description="Longest wait between two re-sends of a step"
    )
    retention_seconds: float = Field(
        86400.0,
        gt=0,
        description="How long a finished saga is remembered (duplicates and late answers find "
        "it) before its state is deleted",
    )
    watchdog_seconds: float = Field(
        1.0, gt=0, description="How often the watchdog looks for sagas that are due"
    )
    batch_size: int = Field(500, ge=1, description="Most messages one saga batch takes")
    batch_seconds: float = Field(
        0.005, ge=0, description="How long a saga batch waits for more messages"
    )

    def timing(self) -> Timing:
        """The saga's pure clock."""
        return Timing(
            self.step_seconds,
            self.redrive_seconds,
            self.max_resends,
            self.max_backoff_seconds,
            self.retention_seconds,
        )
