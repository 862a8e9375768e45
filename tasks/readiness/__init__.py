"""Readiness (mock detection) engine.

Before load-testing, ask of every endpoint of a campaign: is it real, or still
a mock?  Pure engine: it imports httpx and the standard library only.

    from tasks.readiness import ProbeTarget, check_endpoints
    verdicts = await check_endpoints([ProbeTarget("product", "GET",
        "http://127.0.0.1:8101/api/products/{id}", {"id": [1, 2, 3]})])

Modules: ``models`` (data types), ``probe`` (what is sent and recorded,
through ``tasks.bounded``), ``plans`` (which requests each endpoint gets: ``read_plan``,
``write_plan``),
``identifiers`` (real ids before placeholders), ``routing`` (a missing route
vs an unknown id), ``ledger`` (unique values, created objects removed),
``crosscheck`` (evidence across endpoints), ``content`` (body analysis
helpers), ``signatures`` (known mock-tool fingerprints with sources),
``signals/`` (one module per signal family, a registry), ``verdict`` (how
evidence is combined — formula documented there), ``engine`` (order of the
probes, cleanup).
"""

from .engine import build_verdict, check_endpoints, run_readiness
from .models import CreatedObject, Evidence, ProbeTarget, ReadinessReport, ReadinessVerdict

__all__ = ["CreatedObject", "Evidence", "ProbeTarget", "ReadinessReport", "ReadinessVerdict", "build_verdict",
           "check_endpoints", "run_readiness"]
