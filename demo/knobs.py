"""Fault-injection knobs: added latency, jitter and error rate.

A ``Knobs`` object holds global settings plus per-route overrides keyed by
route template (``/api/products/{id}``).  Routes built with ``KnobbedRoute``
consult it before their handler runs: they sleep ``latency_ms`` +/- a uniform
``jitter_ms`` and then answer 503 with probability ``error_rate``.  Only the
real API routers use ``KnobbedRoute``; /health, /metrics and /admin/* never do.

Knobs are set from the CLI/env at start and changed at runtime through
GET/PUT /admin/knobs (see ``KnobsUpdate`` for the accepted body).
"""

import asyncio
import random
import time
from dataclasses import asdict, dataclass

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field


@dataclass
class RouteKnobs:
    latency_ms: float | None = None
    jitter_ms: float | None = None
    error_rate: float | None = None


class RouteKnobsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latency_ms: float | None = Field(None, ge=0, le=60_000)
    jitter_ms: float | None = Field(None, ge=0, le=60_000)
    error_rate: float | None = Field(None, ge=0, le=1)


class KnobsUpdate(RouteKnobsUpdate):
    """Body of PUT /admin/knobs.  Omitted fields keep their value; ``routes``,
    when present, replaces the whole set of per-route overrides."""

    routes: dict[str, RouteKnobsUpdate] | None = None


class Knobs:
    def __init__(self, latency_ms: float = 0.0, jitter_ms: float = 0.0, error_rate: float = 0.0,
                 seed: int | None = 42) -> None:
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.error_rate = error_rate
        self.routes: dict[str, RouteKnobs] = {}
        self._rng = random.Random(seed)

    def as_dict(self) -> dict:
        return {
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "error_rate": self.error_rate,
            "routes": {tpl: {k: v for k, v in asdict(rk).items() if v is not None} for tpl, rk in self.routes.items()},
        }

    def update(self, change: KnobsUpdate, known_routes: set[str]) -> list[str]:
        """Apply ``change``; returns the unknown route templates (nothing applied then)."""
        if change.routes is not None:
            unknown = sorted(set(change.routes) - known_routes)
            if unknown:
                return unknown
            self.routes = {tpl: RouteKnobs(**rk.model_dump()) for tpl, rk in change.routes.items()}
        for name in ("latency_ms", "jitter_ms", "error_rate"):
            value = getattr(change, name)
            if value is not None:
                setattr(self, name, value)
        return []

    def effective(self, template: str) -> tuple[float, float, float]:
        override = self.routes.get(template)
        latency, jitter, error_rate = self.latency_ms, self.jitter_ms, self.error_rate
        if override is not None:
            latency = latency if override.latency_ms is None else override.latency_ms
            jitter = jitter if override.jitter_ms is None else override.jitter_ms
            error_rate = error_rate if override.error_rate is None else override.error_rate
        return latency, jitter, error_rate

    async def apply(self, template: str) -> bool:
        """Sleep as configured for ``template``; True if the request should fail."""
        latency, jitter, error_rate = self.effective(template)
        delay_ms = latency + (self._rng.uniform(-jitter, jitter) if jitter else 0.0)
        if delay_ms > 0:
            await _sleep_at_least(delay_ms / 1000)
        return error_rate > 0 and self._rng.random() < error_rate


async def _sleep_at_least(seconds: float) -> None:
    """asyncio timers may fire up to a clock tick early; injected latency must not."""
    deadline = time.monotonic() + seconds
    await asyncio.sleep(seconds)
    while (remaining := deadline - time.monotonic()) > 0:
        await asyncio.sleep(remaining)


class KnobbedRoute(APIRoute):
    """APIRoute that applies ``request.app.state.knobs`` before the handler."""

    def get_route_handler(self):
        handler = super().get_route_handler()
        template = self.path_format

        async def knobbed_handler(request):
            if await request.app.state.knobs.apply(template):
                return JSONResponse({"detail": "service unavailable"}, status_code=503)
            return await handler(request)

        return knobbed_handler
