"""A :class:`~flows.progress.tracker.StageView` said in words: the status line every display shows.

    [staging] load  sustained 2/3  0:25/0:45  56%  0:20 left, ETA 12:03:41  205 req/s (target 200)  p95 12 ms  0 errors
    [staging] readiness  0:04  real 10, mock 2

The terminal's live bars use the parts, the plain (non-TTY) output and the Prefect progress
artifact the joined line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flows.progress.tracker import StageView, fmt_clock, fmt_duration, fmt_errors, fmt_ms


@dataclass
class Parts:
    label: str
    what: str
    position: str
    percent: str
    remaining: str
    stats: str

    def detail(self, sep: str = "  ") -> str:
        """Everything but the label."""
        return sep.join(p for p in (self.what, self.position, self.percent, self.remaining, self.stats) if p)

    def line(self) -> str:
        return f"{self.label}  {self.detail()}"


def parts(view: StageView, now: float, wall: float | None = None) -> Parts:
    """``now``: the monotonic clock the tracker was fed with; ``wall``: epoch seconds for the ETA."""
    wall = time.time() if wall is None else wall
    label = f"[{view.env}] {view.stage}"
    fraction = view.fraction()
    remaining = view.remaining(now)
    left = ""
    if remaining is not None and view.running:
        eta = time.strftime("%H:%M:%S", time.localtime(wall + remaining))
        left = f"{fmt_clock(remaining)} left, ETA {eta}"
    percent = f"{fraction:.0%}" if fraction is not None else ""
    if view.is_load:
        phase = view.current_phase()
        what = f"{phase.name} {phase.index + 1}/{len(view.phases)}" if phase else ""
        done = view.done or 0.0
        position = f"{fmt_clock(done)}/{fmt_clock(view.total)}" if view.total else fmt_clock(done)
        return Parts(label, what, position, percent, left, load_stats(view))
    position = fmt_clock(view.elapsed(now))
    what = view.counts()
    if view.total and view.done is not None and view.unit and view.unit != "s":
        extra = what if view.verdicts or view.failed else ""  # "12 checked" would say the count twice
        what = f"{view.done:g}/{view.total:g} {view.unit}" + (f" ({extra})" if extra else "")
    return Parts(label, what, position, percent, left, "")


def load_stats(view: StageView) -> str:
    """``205 req/s (target 200)  p95 12.1 ms  0 errors`` from the latest second."""
    row = view.sample
    if not row:
        return "starting"
    target_rps, target_vus = view.target()
    rps = row.get("rps")
    rate = f"{rps:,.0f} req/s" if rps is not None else "– req/s"
    if target_rps is not None:
        rate += f" (target {target_rps:,.0f})"
    if target_vus is not None or row.get("vus") is not None:
        vus = row.get("vus")
        rate += f"  {'–' if vus is None else vus}" + (f"/{target_vus}" if target_vus is not None else "") + " VUs"
    return f"{rate}  p95 {fmt_ms(row.get('p95_ms'))}  {fmt_errors(view.errors, view.requests)}"


def markdown(view: StageView, now: float, wall: float | None = None) -> str:
    """The status line for a Prefect artifact (markdown collapses double spaces: say ``·``)."""
    return parts(view, now, wall).detail(" · ").replace("  ", " · ")


def elapsed_text(view: StageView, now: float) -> str:
    return fmt_duration(view.elapsed(now))
