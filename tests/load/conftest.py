from __future__ import annotations

from collections.abc import Iterator

import pytest

from tasks.load.plan import PhasePlan, Plan, ScenarioPlan, StepPlan
from tests.load.servers import TestServer


@pytest.fixture
def server() -> Iterator[TestServer]:
    with TestServer() as srv:
        yield srv


def simple_plan(url: str, path: str = "/ok", *, rate: float | None = None, vus: int | None = None,
                duration: float = 1.0, **kw) -> Plan:
    step = StepPlan(name=kw.pop("name", "ep"), method=kw.pop("method", "GET"), path=path)
    if rate is not None:
        phases = (PhasePlan("constant-arrival-rate", duration, rate=rate),)
        model = "open"
    else:
        phases = (PhasePlan("constant-vus", duration, vus=vus or 1),)
        model = "closed"
    return Plan(base_url=url, scenarios=(ScenarioPlan("s", 1, (step,)),), phases=phases, model=model, **kw)
