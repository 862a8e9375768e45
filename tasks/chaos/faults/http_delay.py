"""``http_delay``: hold a chosen fraction of HTTP requests ``delay_ms`` ± ``jitter_ms`` before
forwarding them (the target sees them late; later requests on that connection wait behind)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tasks.chaos.faults import register
from tasks.chaos.faults.base import Fault, Params, jittered


class HttpDelayParams(Params):
    delay_ms: float = Field(ge=0, le=600_000)
    jitter_ms: float = Field(0.0, ge=0, le=600_000)


@register
class HttpDelay(Fault):
    type = "http_delay"
    Params = HttpDelayParams
    http = True
    unit = "request"

    def on_request(self, link: Any, head: Any) -> Any:
        p: HttpDelayParams = self.params  # type: ignore[assignment]
        rng = link.proxy.rng
        return jittered(rng, p.delay_ms, p.jitter_ms) if self.chosen(rng) else None
