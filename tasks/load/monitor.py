"""The generator watching itself: CPU, event-loop lag, schedule lag — and the verdict on whether
its numbers describe the target or the generator.

A run is *not trustworthy* when the generator, not the target, may have shaped the numbers:
its CPU was saturated, its loop stalled, it sent behind schedule, it dropped sends, or it did not
reach the target rate. The reasons say which; the stage reports them beside the numbers instead
of passing them off as the target's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psutil

#: a shard busier than this share of one core is saturated
CPU_SATURATED = 0.90
#: an open-model run reaching less than this share of its target rate did not reach it
RATE_REACHED = 0.95
#: scheduling lag (intended → issued) p99 above this means sends left late by the generator's fault
SCHED_LAG_P99_S = 0.010
#: an event-loop callback this late means the loop was blocked (or the process descheduled):
#: responses that arrived meanwhile were timed late
LOOP_LAG_MAX_S = 0.025
#: the median send lag may not exceed this share of the median latency (nor this absolute floor)
SCHED_LAG_P50_SHARE = 0.25
SCHED_LAG_P50_FLOOR_S = 0.0001


class CpuSampler:
    """This process's CPU use (share of one core) between calls."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self._last = self._read()

    def _read(self) -> tuple[float, float]:
        t = self.proc.cpu_times()
        return time.perf_counter(), t.user + t.system

    def sample(self) -> float:
        now = self._read()
        wall = now[0] - self._last[0]
        busy = now[1] - self._last[1]
        self._last = now
        return busy / wall if wall > 0 else 0.0


@dataclass
class GeneratorHealth:
    """What a shard measured about itself (merged across shards by taking the worst)."""

    cpu_mean: float = 0.0            # share of one core, over the run
    cpu_max: float = 0.0             # worst one-second sample
    loop_lag_max_s: float = 0.0      # worst event-loop delay seen by the 100 ms probe
    sched_lag_p99_s: float = 0.0     # open model: intended → issued, p99
    sched_lag_max_s: float = 0.0
    sched_lag_p50_s: float = 0.0
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def verdict(model: str, health: GeneratorHealth, target_rate: float | None, achieved_rate: float | None,
            dropped: int, planned: float | None, aborted: str | None = None,
            latency_p50_s: float | None = None) -> tuple[bool, list[str]]:
    """``(trustworthy, reasons)`` for a shard or a merged run."""
    reasons: list[str] = []
    if health.cpu_mean >= CPU_SATURATED:
        reasons.append(f"generator saturated: CPU at {health.cpu_mean:.0%} of a core on average "
                       f"(latencies include the generator's own queueing)")
    if health.loop_lag_max_s > LOOP_LAG_MAX_S:
        reasons.append(f"generator event loop stalled for up to {health.loop_lag_max_s * 1000:.0f} ms "
                       f"(answers that arrived meanwhile were timed late)")
    if model == "open":
        if health.sched_lag_p99_s > SCHED_LAG_P99_S:
            reasons.append(f"generator behind its schedule: p99 send lag {health.sched_lag_p99_s * 1000:.1f} ms")
        elif (latency_p50_s and health.sched_lag_p50_s > SCHED_LAG_P50_FLOOR_S
              and health.sched_lag_p50_s > SCHED_LAG_P50_SHARE * latency_p50_s):
            reasons.append(f"generator late at the median: sends leave {health.sched_lag_p50_s * 1000:.2f} ms after "
                           f"their intended time, {health.sched_lag_p50_s / latency_p50_s:.0%} of the p50 latency")
        if dropped:
            share = f" of {planned:.0f} planned" if planned else ""
            reasons.append(f"{dropped} sends dropped{share} (connection limit and queue full)")
        if target_rate and achieved_rate is not None and achieved_rate < RATE_REACHED * target_rate and not aborted:
            reasons.append(f"target rate not reached: {achieved_rate:.1f}/s achieved of {target_rate:.1f}/s "
                           f"({achieved_rate / target_rate:.0%})")
    return (not reasons), reasons
