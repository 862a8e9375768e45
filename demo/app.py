"""Composition of the demo service: ``create_app(db_path, ...)`` returns a FastAPI app.

The app owns its state (``app.state``): the SQLite pool (``db``), the fault
injection ``knobs``, its own Prometheus ``metrics`` registry and the start
time.  Several apps can therefore live in one process (tests do this).

Routers, by kind:
  real     routes_auth, routes_wallet, routes_shop, routes_retail, routes_lms
           (SQLite-backed; subject to the latency/error knobs)
  mocked   mocks (plausible-looking but canned)
  missing  routes_lms.unfinished (501), and /notifications/unread-count, which
           simply does not exist (404)
  ops      routes_ops (/health, /metrics, /admin/knobs)
  web      /app/ static pages from demo/web
"""

import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from . import mocks, routes_auth, routes_lms, routes_ops, routes_retail, routes_shop, routes_wallet
from .db import Database, DatabaseUnavailable, init_db
from .knobs import Knobs
from .metrics import Metrics, MetricsMiddleware

WEB_DIR = Path(__file__).with_name("web")
REAL_ROUTERS = (routes_auth.router, routes_wallet.router, routes_shop.router, routes_retail.router,
                routes_lms.router)


def create_app(
    db_path: str | Path,
    latency_ms: float = 0.0,
    jitter_ms: float = 0.0,
    error_rate: float = 0.0,
    seed: int = 42,
    pool_size: int = 4,
) -> FastAPI:
    """Build the service on the SQLite file ``db_path`` (created and seeded if missing)."""
    init_db(db_path, seed=seed)
    db = Database(db_path, pool_size=pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        db.close()

    app = FastAPI(title="Demo Commerce & Learning API", version="1.4.0", lifespan=lifespan)
    app.state.db = db
    app.state.db_ok = True
    app.state.started_at = time.monotonic()
    app.state.knobs = Knobs(latency_ms, jitter_ms, error_rate, seed=seed)
    app.state.knob_routes = {route.path_format for router in REAL_ROUTERS for route in router.routes}
    app.state.metrics = Metrics(db, db_healthy=lambda: app.state.db_ok)

    app.include_router(routes_ops.router)
    for router in REAL_ROUTERS:
        app.include_router(router)
    app.include_router(routes_lms.unfinished)
    app.include_router(mocks.router)
    app.mount("/app", StaticFiles(directory=WEB_DIR, html=True), name="web")

    @app.exception_handler(DatabaseUnavailable)
    async def database_unavailable(request: Request, exc: DatabaseUnavailable):
        return JSONResponse({"detail": "database unavailable"}, status_code=503)

    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics, static_prefix="/app")
    return app
