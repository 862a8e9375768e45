"""Identical reads whose numbers change get a few more samples: five random draws come out sorted
(or close together) too often to tell a ``randint`` dashboard from a live count."""

from __future__ import annotations

import asyncio
import itertools

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from tasks.readiness import ProbeTarget
from tasks.readiness.engine import run_readiness

from .servers import serve_asgi

# what randint gave, in the order it gave it: the first five of each count happen to rise
READERS = [58, 130, 209, 252, 360, 41, 377, 12]
LOANS = [3, 19, 26, 37, 72, 5, 64, 1]
OVERDUE = [1, 4, 6, 7, 10, 0, 14, 2]
#: a live count: it moves a little, one way
VISITS = [1000, 1001, 1003, 1004, 1006, 1007, 1009, 1010]


def test_a_random_dashboard_whose_first_draws_rise_is_still_caught():
    draws = itertools.count()
    visits = itertools.count()

    async def dashboard(request):
        i = next(draws) % len(READERS)
        return JSONResponse({"active_readers": READERS[i], "loans_today": LOANS[i], "overdue": OVERDUE[i]})

    async def counter(request):
        return JSONResponse({"visits": VISITS[min(next(visits), len(VISITS) - 1)]})

    server = serve_asgi(Starlette(routes=[Route("/api/dashboard", dashboard), Route("/api/visits", counter)]))
    try:
        report = asyncio.run(run_readiness([ProbeTarget("dashboard", "GET", f"{server.url}/api/dashboard"),
                                            ProbeTarget("visits", "GET", f"{server.url}/api/visits")], samples=5))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    assert by["dashboard"].requests >= 8
    assert by["dashboard"].verdict == "mock", by["dashboard"].to_dict()
    assert by["visits"].verdict == "real", by["visits"].to_dict()
