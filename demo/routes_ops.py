"""Operational routes: /health, /metrics and the /admin/knobs fault-injection API.

None of these are subject to the knobs, so a campaign can always observe and
reset the service even while it injects 100 % errors.
"""

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from .db import DatabaseUnavailable, ping
from .knobs import KnobsUpdate

router = APIRouter()


@router.get("/health")
async def health(request: Request):
    state = request.app.state
    try:
        state.db_ok = await state.db.read(ping)
    except DatabaseUnavailable:
        state.db_ok = False
    body = {"status": "ok" if state.db_ok else "degraded",
            "uptime_s": round(time.monotonic() - state.started_at, 3),
            "db": "ok" if state.db_ok else "error"}
    return JSONResponse(body, status_code=200 if state.db_ok else 503)


@router.get("/metrics")
async def metrics(request: Request):
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/admin/knobs")
async def get_knobs(request: Request):
    return JSONResponse(request.app.state.knobs.as_dict())


@router.put("/admin/knobs")
async def put_knobs(change: KnobsUpdate, request: Request):
    state = request.app.state
    unknown = state.knobs.update(change, state.knob_routes)
    if unknown:
        return JSONResponse({"detail": f"unknown route template(s): {', '.join(unknown)}",
                             "known_routes": sorted(state.knob_routes)}, status_code=422)
    return JSONResponse(state.knobs.as_dict())
