"""``ramping-vus``: virtual users move linearly from ``vus`` to ``vus_to`` (a k6 ``stages`` entry);
ramp-down stops users after the request they have in flight.
"""

from __future__ import annotations

from tasks.load.executors.base import VUExecutor, register
from tasks.load.plan import PhasePlan


@register
class RampingVUs(VUExecutor):
    type = "ramping-vus"

    def __init__(self, duration: float, vus: int, vus_to: int):
        super().__init__(duration)
        if vus < 0 or vus_to < 0:
            raise ValueError("a number of virtual users is not negative")
        self.vus, self.vus_to = int(vus), int(vus_to)

    @classmethod
    def from_phase(cls, phase: PhasePlan) -> RampingVUs:
        return cls(phase.duration, phase.vus, phase.vus if phase.vus_to is None else phase.vus_to)

    def describe(self) -> str:
        return f"{self.vus} → {self.vus_to} VUs over {self.duration:g}s"

    def vus_at(self, t: float) -> int:
        frac = min(max(t / self.duration, 0.0), 1.0)
        return round(self.vus + (self.vus_to - self.vus) * frac)
