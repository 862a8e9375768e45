"""``slow_close``: delay passing a close on by ``delay_ms``, for a chosen fraction of connections.

Toxiproxy's ``slow_close``: the peer sees the connection stay open (and silent) that much longer
after the other side closed it — what a client with a keep-alive pool meets when a server
restarts.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tasks.chaos.faults import register
from tasks.chaos.faults.base import Direction, Fault, Params, applies


class SlowCloseParams(Params):
    delay_ms: float = Field(gt=0, le=600_000)
    direction: Direction = "both"


@register
class SlowClose(Fault):
    type = "slow_close"
    Params = SlowCloseParams
    unit = "connection"

    def on_close(self, link: Any, direction: str) -> float:
        p: SlowCloseParams = self.params  # type: ignore[assignment]
        if applies(direction, p.direction) and self.memo(link, link.proxy.rng):
            return p.delay_ms / 1000.0
        return 0.0
