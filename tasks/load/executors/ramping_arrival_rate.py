"""``ramping-arrival-rate``: the rate moves linearly from ``rate`` to ``rate_to`` (Artillery's
``arrivalRate``/``rampTo``). Arrival ``i`` is due when the cumulative count
``N(t) = r0·t + (r1 − r0)·t² / 2D`` reaches ``i``.
"""

from __future__ import annotations

import math

from tasks.load.executors.base import ArrivalExecutor, register
from tasks.load.plan import PhasePlan


@register
class RampingArrivalRate(ArrivalExecutor):
    type = "ramping-arrival-rate"

    def __init__(self, duration: float, rate: float, rate_to: float):
        super().__init__(duration)
        if rate < 0 or rate_to < 0:
            raise ValueError("an arrival rate is not negative")
        self.rate, self.rate_to = float(rate), float(rate_to)
        self._a = (self.rate_to - self.rate) / (2 * self.duration)

    @classmethod
    def from_phase(cls, phase: PhasePlan) -> RampingArrivalRate:
        return cls(phase.duration, phase.rate, phase.rate if phase.rate_to is None else phase.rate_to)

    def describe(self) -> str:
        return f"{self.rate:g}/s → {self.rate_to:g}/s over {self.duration:g}s"

    def rate_at(self, t: float) -> float:
        return self.rate + (self.rate_to - self.rate) * min(max(t / self.duration, 0.0), 1.0)

    def arrivals(self) -> int:
        return self._count((self.rate + self.rate_to) / 2 * self.duration)

    def time_of(self, i: int) -> float:
        a, r0 = self._a, self.rate
        if abs(a) < 1e-12:
            return i / r0
        # a·t² + r0·t − i = 0, the root in [0, D]
        return (-r0 + math.sqrt(max(r0 * r0 + 4 * a * i, 0.0))) / (2 * a)
