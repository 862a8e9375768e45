"""``constant-arrival-rate``: ``rate`` iterations per second for ``duration`` (open model)."""

from __future__ import annotations

from tasks.load.executors.base import ArrivalExecutor, register
from tasks.load.plan import PhasePlan


@register
class ConstantArrivalRate(ArrivalExecutor):
    type = "constant-arrival-rate"

    def __init__(self, duration: float, rate: float):
        super().__init__(duration)
        if rate < 0:
            raise ValueError("an arrival rate is not negative")
        self.rate = float(rate)

    @classmethod
    def from_phase(cls, phase: PhasePlan) -> ConstantArrivalRate:
        return cls(phase.duration, phase.rate)

    def describe(self) -> str:
        return f"{self.rate:g}/s for {self.duration:g}s"

    def rate_at(self, t: float) -> float:
        return self.rate

    def arrivals(self) -> int:
        return self._count(self.rate * self.duration)

    def time_of(self, i: int) -> float:
        return i / self.rate
