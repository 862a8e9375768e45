"""``bandwidth``: limit a chosen fraction of connections to ``rate_kbps`` kilobytes per second.

Toxiproxy's ``bandwidth`` toxic. Chosen once per connection (while the fault is active); the
throttled direction is ``downstream`` (responses) unless ``direction`` says otherwise.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tasks.chaos.faults import register
from tasks.chaos.faults.base import Direction, Fault, Params, Throttle, applies


class BandwidthParams(Params):
    rate_kbps: float = Field(gt=0, le=10_000_000, description="Kilobytes (1000 bytes) per second.")
    direction: Direction = "downstream"


@register
class Bandwidth(Fault):
    type = "bandwidth"
    Params = BandwidthParams
    unit = "connection"

    def on_chunk(self, link: Any, direction: str, data: bytes) -> Any:
        p: BandwidthParams = self.params  # type: ignore[assignment]
        if applies(direction, p.direction) and self.memo(link, link.proxy.rng):
            return Throttle(p.rate_kbps * 1000.0)
        return None
