"""``timeout``: accept, read and never answer a chosen fraction of requests (their connection
goes silent).

Toxiproxy's ``timeout`` toxic. A chosen connection drops everything from then on; it is aborted
``close_after_ms`` later, or when the fault is removed (its HTTP stream lost bytes, it cannot be
used again). A new connection may be chosen as it is accepted: it then never reaches the target.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tasks.chaos.faults import register
from tasks.chaos.faults.base import UP, Blackhole, Fault, Params


class TimeoutParams(Params):
    close_after_ms: float | None = Field(None, gt=0, le=600_000,
                                         description="Abort the silent connection after this long.")


@register
class Timeout(Fault):
    type = "timeout"
    Params = TimeoutParams
    unit = "request"

    def _verdict(self) -> Blackhole:
        p: TimeoutParams = self.params  # type: ignore[assignment]
        return Blackhole(p.close_after_ms / 1000.0 if p.close_after_ms else None)

    def on_accept(self, link: Any) -> Any:
        return self._verdict() if self.chosen(link.proxy.rng) else None

    def on_chunk(self, link: Any, direction: str, data: bytes) -> Any:
        if direction == UP and self.chosen(link.proxy.rng):
            return self._verdict()
        return None

    def on_deactivate(self, proxy: Any) -> None:
        for link in list(proxy.links):
            if link.blackholed_by == self.id:
                link.reset()
