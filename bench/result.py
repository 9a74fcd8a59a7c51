"""One benchmark measurement, with the baseline it is compared to in the same run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Result:
    """A measured value beside its baseline and the target it should meet."""

    name: str
    value: float
    unit: str
    baseline_name: str | None = None
    baseline_value: float | None = None
    target: str = ""
    met: bool | None = None
    notes: str = ""
    # Process CPU per unit (event, command) in microseconds: it survives a loaded machine
    # where rates don't. The baseline's is its client's CPU for the same work.
    cpu_us: float | None = None
    baseline_cpu_us: float | None = None

    @property
    def ratio(self) -> float | None:
        """value / baseline, when there is a baseline."""
        if not self.baseline_value:
            return None
        return self.value / self.baseline_value

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}
