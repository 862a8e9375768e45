"""A template with random helpers (camouflage ``{{randomValue}}``, Mockoon ``{{faker}}``, WireMock
``{{randomInt}}``): a nonexistent id gets an answer about that very id, and identical requests get
different values. Either alone stays a hint; together they make the endpoint a mock. A real stored
record that changes between reads (a live gauge) but refuses an unknown id is left real."""

from __future__ import annotations

import asyncio
import random

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from tasks.readiness import ProbeTarget
from tasks.readiness.engine import run_readiness

from .servers import serve_asgi


async def timesheet(request):
    tid = int(request.path_params["tid"])  # any id: the template echoes it
    return JSONResponse({"id": tid, "task": 1, "hours": random.randint(1, 9), "day": "2026-12-07",
                         "approved": False})


GAUGES = {1: "boiler", 2: "chiller"}


async def gauge(request):
    gid = int(request.path_params["gid"])
    if gid not in GAUGES:
        return JSONResponse({"detail": "Gauge not found"}, status_code=404)
    return JSONResponse({"id": gid, "name": GAUGES[gid], "reading": random.randint(1, 9)})


def test_an_id_echoing_template_with_random_values_is_mock_a_live_gauge_is_not():
    server = serve_asgi(Starlette(routes=[Route("/api/timesheets/{tid}", timesheet),
                                          Route("/api/gauges/{gid}", gauge)]))
    try:
        targets = [ProbeTarget("timesheet", "GET", f"{server.url}/api/timesheets/{{id}}", {"id": ["11", "12"]}),
                   ProbeTarget("gauge", "GET", f"{server.url}/api/gauges/{{id}}", {"id": ["1", "2"]})]
        report = asyncio.run(run_readiness(targets, samples=5))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    signals = {e.signal for e in by["timesheet"].evidence}
    assert "random-template" in signals, by["timesheet"].to_dict()
    assert by["timesheet"].verdict == "mock", by["timesheet"].to_dict()
    assert "random-template" not in {e.signal for e in by["gauge"].evidence}
    assert by["gauge"].verdict == "real", by["gauge"].to_dict()
