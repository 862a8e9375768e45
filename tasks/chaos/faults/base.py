"""What a fault is: parameters (a strict pydantic model), a ``fraction`` of traffic, and hooks.

The proxy calls a fault's hooks on its slow path only (when at least one fault is active):

==================  ==========================================================  ===================
hook                called                                                      may return
==================  ==========================================================  ===================
``on_activate``     once, when the fault is added to the proxy                  —
``on_deactivate``   once, when it is removed                                    —
``on_accept``       for each new client connection                              RESET, BLACKHOLE
``on_chunk``        for each chunk read, with its direction                     a delay (s), RESET,
                                                                                BLACKHOLE, Throttle
``on_request``      for each HTTP request head (``http = True`` faults only)    a delay (s), Answer
``on_close``        when one side's close is propagated to the other            a delay (s)
==================  ==========================================================  ===================

``upstream`` is the client → target direction (requests), ``downstream`` target → client
(responses). Per-exchange decisions (was this request's response chosen?) are kept in
``link.memo`` under the fault's id, so one request's response is delayed as a whole.

Adding a fault is adding a module in this folder with a class decorated by
:func:`tasks.chaos.faults.register`; ``tests/chaos/test_faults.py`` checks every registered one.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # pragma: no cover
    from tasks.chaos.http11 import Head
    from tasks.chaos.proxy import FaultProxy, Link

UP = "upstream"
DOWN = "downstream"
Direction = Literal["upstream", "downstream", "both"]


class Params(BaseModel):
    """A fault's parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: abort both sides of the connection with a TCP RST
RESET = _Marker("RESET")


@dataclass(frozen=True)
class Throttle:
    """Deliver this direction at no more than ``bytes_per_s``."""

    bytes_per_s: float


@dataclass(frozen=True)
class Blackhole:
    """Read and drop everything on this connection, never answer; abort it after ``close_after_s``
    (None: when the fault is removed)."""

    close_after_s: float | None = None


#: accept, read and drop everything, never answer
BLACKHOLE = Blackhole()


@dataclass(frozen=True)
class Answer:
    """Answer the request with these bytes instead of forwarding it."""

    data: bytes


_ids = itertools.count(1)


def applies(direction: str, wanted: str) -> bool:
    return wanted == "both" or wanted == direction


class Fault:
    """Base class: every hook is a no-op."""

    type: ClassVar[str]
    Params: ClassVar[type[Params]]
    #: needs the HTTP/1.1 request framing (the proxy parses requests only while one is active)
    http: ClassVar[bool] = False
    #: what ``fraction`` selects, for the docs and the report
    unit: ClassVar[str] = "request"

    def __init__(self, params: Params, fraction: float = 1.0, name: str | None = None):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction {fraction} is not between 0 and 1")
        self.params = params
        self.fraction = float(fraction)
        self.id = name or f"{self.type}-{next(_ids)}"
        #: how many times a verdict of this fault was applied (connections, chunks or requests)
        self.hits = 0

    # -- helpers ---------------------------------------------------------------------------------
    def chosen(self, rng: random.Random) -> bool:
        f = self.fraction
        return f >= 1.0 or (f > 0.0 and rng.random() < f)

    def memo(self, link: Link, rng: random.Random, reroll: bool = False) -> bool:
        """This fault's decision for the link's current exchange (rolled once, or again on ``reroll``)."""
        memo = link.memo
        if reroll or self.id not in memo:
            memo[self.id] = self.chosen(rng)
        return memo[self.id]

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "fraction": self.fraction, "params": self.params.model_dump()}

    # -- hooks -----------------------------------------------------------------------------------
    def on_activate(self, proxy: FaultProxy) -> None:
        pass

    def on_deactivate(self, proxy: FaultProxy) -> None:
        pass

    def on_accept(self, link: Link) -> Any:
        return None

    def on_chunk(self, link: Link, direction: str, data: bytes) -> Any:
        return None

    def on_request(self, link: Link, head: Head) -> Any:
        return None

    def on_close(self, link: Link, direction: str) -> float:
        return 0.0


def jittered(rng: random.Random, base_ms: float, jitter_ms: float) -> float:
    """Seconds: ``base_ms`` ± a uniform ``jitter_ms``, never negative."""
    ms = base_ms + (rng.uniform(-jitter_ms, jitter_ms) if jitter_ms else 0.0)
    return max(ms, 0.0) / 1000.0
