"""``reset``: answer a chosen fraction of requests with a TCP RST (connection reset by peer).

Toxiproxy's ``reset_peer``. With ``direction: upstream`` (default) the request never reaches
the target; with ``downstream`` the target handles it and the client loses the answer — the
case where a write happened but the client cannot know.
"""

from __future__ import annotations

from typing import Any, Literal

from tasks.chaos.faults import register
from tasks.chaos.faults.base import RESET, UP, Fault, Params


class ResetParams(Params):
    direction: Literal["upstream", "downstream"] = "upstream"


@register
class Reset(Fault):
    type = "reset"
    Params = ResetParams
    unit = "request"

    def on_chunk(self, link: Any, direction: str, data: bytes) -> Any:
        p: ResetParams = self.params  # type: ignore[assignment]
        rng = link.proxy.rng
        if p.direction == UP:
            return RESET if direction == UP and self.chosen(rng) else None
        if direction == UP:
            self.memo(link, rng, reroll=True)
            return None
        return RESET if self.memo(link, rng) else None
