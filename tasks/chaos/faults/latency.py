"""``latency``: add ``latency_ms`` ± ``jitter_ms`` to a chosen fraction of exchanges.

Toxiproxy's ``latency`` toxic. The choice is made once per request (each chunk the client sends
starts a new exchange) and holds for the response chunks that follow, so a response is delayed
as a whole and never overtakes an earlier one (deliveries stay in order). ``direction``:
``downstream`` (default) delays the response, ``upstream`` the request, ``both`` each of them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tasks.chaos.faults import register
from tasks.chaos.faults.base import DOWN, UP, Direction, Fault, Params, applies, jittered


class LatencyParams(Params):
    latency_ms: float = Field(ge=0, le=60_000)
    jitter_ms: float = Field(0.0, ge=0, le=60_000)
    direction: Direction = "downstream"


@register
class Latency(Fault):
    type = "latency"
    Params = LatencyParams
    unit = "request"

    def on_chunk(self, link: Any, direction: str, data: bytes) -> Any:
        p: LatencyParams = self.params  # type: ignore[assignment]
        rng = link.proxy.rng
        if direction == UP:
            chosen = self.memo(link, rng, reroll=True)
            if chosen and applies(UP, p.direction):
                return jittered(rng, p.latency_ms, p.jitter_ms)
            return None
        if applies(DOWN, p.direction) and self.memo(link, rng):
            return jittered(rng, p.latency_ms, p.jitter_ms)
        return None
