"""Readiness (mock detection) engine.

Before load-testing, ask of every endpoint of a campaign: is it real, or still
a mock?  Pure engine: it imports httpx and the standard library only.

    from tasks.readiness import ProbeTarget, check_endpoints
    verdicts = await check_endpoints([ProbeTarget("product", "GET",
        "http://127.0.0.1:8101/api/products/{id}", {"id": [1, 2, 3]})])

Modules: ``models`` (data types), ``probe`` (which requests are sent),
``content`` (body analysis helpers), ``signatures`` (known mock-server
fingerprints with sources), ``signals`` (one function per signal),
``verdict`` (how evidence is combined — formula documented there),
``engine`` (orchestration).
"""

from .engine import build_verdict, check_endpoints
from .models import Evidence, ProbeTarget, ReadinessVerdict

__all__ = ["Evidence", "ProbeTarget", "ReadinessVerdict", "build_verdict", "check_endpoints"]
