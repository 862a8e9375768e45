"""``outage``: the target is gone for a chosen fraction of requests (TCP RST).

At ``fraction: 1`` (default) it is a full outage: every open connection is reset when the
fault is added and every new connection is reset as it is accepted. Below 1, each request is
reset with that probability and connections are left alone otherwise.
"""

from __future__ import annotations

from typing import Any

from tasks.chaos.faults import register
from tasks.chaos.faults.base import RESET, UP, Fault, Params


class OutageParams(Params):
    pass


@register
class Outage(Fault):
    type = "outage"
    Params = OutageParams
    unit = "request"

    def on_activate(self, proxy: Any) -> None:
        if self.fraction >= 1.0:
            for link in list(proxy.links):
                link.reset()

    def on_accept(self, link: Any) -> Any:
        return RESET if self.fraction >= 1.0 else None

    def on_chunk(self, link: Any, direction: str, data: bytes) -> Any:
        return RESET if direction == UP and self.chosen(link.proxy.rng) else None
