"""``constant-vus``: ``vus`` virtual users loop over the flow for ``duration`` (closed model)."""

from __future__ import annotations

from tasks.load.executors.base import VUExecutor, register
from tasks.load.plan import PhasePlan


@register
class ConstantVUs(VUExecutor):
    type = "constant-vus"

    def __init__(self, duration: float, vus: int):
        super().__init__(duration)
        if vus < 0:
            raise ValueError("a number of virtual users is not negative")
        self.vus = int(vus)

    @classmethod
    def from_phase(cls, phase: PhasePlan) -> ConstantVUs:
        return cls(phase.duration, phase.vus)

    def describe(self) -> str:
        return f"{self.vus} VUs for {self.duration:g}s"

    def vus_at(self, t: float) -> int:
        return self.vus
