"""Executors: one per file, a registry, and exact shard interleaving."""

from __future__ import annotations

import pytest

from tasks.load.executors import REGISTRY, executor_for
from tasks.load.plan import PhasePlan


def test_registry_holds_one_executor_per_file():
    executor_for(PhasePlan("constant-vus", 1, vus=1))
    assert set(REGISTRY) == {"constant-arrival-rate", "ramping-arrival-rate", "constant-vus", "ramping-vus"}
    for name, cls in REGISTRY.items():
        assert cls.__module__.endswith(name.replace("-", "_"))
    with pytest.raises(ValueError, match="unknown executor"):
        executor_for(PhasePlan("per-vu-iterations", 1))


def test_constant_arrival_rate_schedule():
    ex = executor_for(PhasePlan("constant-arrival-rate", 3, rate=200))
    assert ex.arrivals() == 600 and ex.time_of(0) == 0 and ex.time_of(599) == pytest.approx(2.995)


def test_ramping_arrival_rate_schedule():
    ex = executor_for(PhasePlan("ramping-arrival-rate", 10, rate=0, rate_to=100))
    assert ex.arrivals() == 500
    times = [ex.time_of(i) for i in range(500)]
    assert times == sorted(times) and times[-1] < 10
    # half the arrivals happen in the last ~29 % of a linear ramp from 0
    assert times[250] == pytest.approx(10 * (0.5 ** 0.5), rel=1e-3)
    assert ex.rate_at(5) == 50


def test_shards_partition_the_schedule_exactly():
    ex = executor_for(PhasePlan("ramping-arrival-rate", 4, rate=10, rate_to=90))
    whole = [ex.time_of(i) for i in range(ex.arrivals())]
    parts = [list(ex.shard_times(k, 3)) for k in range(3)]
    assert sorted(t for p in parts for t in p) == whole


def test_vus_executors():
    assert executor_for(PhasePlan("ramping-vus", 10, vus=0, vus_to=10)).vus_at(5) == 5
    assert executor_for(PhasePlan("constant-vus", 10, vus=7)).vus_at(9.9) == 7
