"""What every executor is, and the registry that maps a type string to its class.

An executor is the load profile of one phase, a pure function of time (k6's ``lib/executor``,
Locust's ``shape.tick()``):

- *open model* (:class:`ArrivalExecutor`): iterations arrive on a schedule whatever the target
  does; ``time_of(i)`` is when the ``i``-th arrival is due, so latency can be measured from that
  intended instant (no coordinated omission).
- *closed model* (:class:`VUExecutor`): ``vus_at(t)`` virtual users each loop over the flow.

Adding an executor is adding a file named after its type string that defines a subclass
decorated with :func:`register`, and listing it in ``EXECUTOR_MODULES``.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar, Literal

from tasks.load.plan import PhasePlan

EXECUTOR_MODULES = ("constant_arrival_rate", "ramping_arrival_rate", "constant_vus", "ramping_vus")

REGISTRY: dict[str, type[Executor]] = {}


def register(cls: type[Executor]) -> type[Executor]:
    REGISTRY[cls.type] = cls
    return cls


def executor_for(phase: PhasePlan) -> Executor:
    if not REGISTRY:
        for module in EXECUTOR_MODULES:
            importlib.import_module(f"tasks.load.executors.{module}")
    try:
        cls = REGISTRY[phase.executor]
    except KeyError:
        raise ValueError(f"unknown executor {phase.executor!r} (known: {sorted(REGISTRY)})") from None
    return cls.from_phase(phase)


class Executor(ABC):
    type: ClassVar[str]
    model: ClassVar[Literal["open", "closed"]]

    def __init__(self, duration: float):
        if duration <= 0:
            raise ValueError("a phase lasts longer than 0 s")
        self.duration = float(duration)

    @classmethod
    @abstractmethod
    def from_phase(cls, phase: PhasePlan) -> Executor: ...

    @abstractmethod
    def describe(self) -> str: ...


class ArrivalExecutor(Executor):
    model = "open"

    @abstractmethod
    def rate_at(self, t: float) -> float:
        """Arrivals per second at ``t`` seconds into the phase."""

    @abstractmethod
    def arrivals(self) -> int:
        """How many arrivals the phase schedules."""

    @abstractmethod
    def time_of(self, i: int) -> float:
        """When (seconds into the phase) arrival ``i`` (0-based) is due."""

    def shard_times(self, shard: int, n_shards: int) -> Iterator[float]:
        """This shard's arrivals: every ``n_shards``-th, starting at ``shard`` (interleaved)."""
        time_of = self.time_of
        for i in range(shard, self.arrivals(), n_shards):
            yield time_of(i)

    @staticmethod
    def _count(expected: float) -> int:
        return max(0, math.ceil(expected - 1e-9))


class VUExecutor(Executor):
    model = "closed"

    @abstractmethod
    def vus_at(self, t: float) -> int:
        """Virtual users that should be running ``t`` seconds into the phase."""
