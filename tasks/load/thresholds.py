"""Evaluating thresholds (parsed by ``campaigns.load``, whose docstring holds the grammar).

A rule is ``metric op value`` over one endpoint or all of them. Latency statistics come from the
HDR histogram (ms), ``error_rate`` is errors / requests, ``rps`` is requests / elapsed seconds.
A rule over zero samples **fails** ("no samples"): it never passes silently.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

from tasks.load import histogram as H
from tasks.load.plan import RulePlan

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}


@dataclass
class Observed:
    """What a rule looks at: one endpoint (or the whole run) over some span of time."""

    requests: int
    errors: int
    hist: HdrHistogram
    sum_us: float | None
    elapsed: float


@dataclass
class Outcome:
    rule: RulePlan
    passed: bool
    observed: float | None
    detail: str = ""

    @property
    def label(self) -> str:
        where = f"{{endpoint:{self.rule.endpoint}}}" if self.rule.endpoint else ""
        return f"{self.rule.metric}{where}{self.rule.op}{self.rule.value:g}"


def observe(rule: RulePlan, obs: Observed | None, rps_scale: float = 1.0) -> float | None:
    """The rule's metric on ``obs`` (None when there are no samples)."""
    if obs is None:
        return None
    metric = rule.metric
    if metric == "error_rate":
        return obs.errors / obs.requests if obs.requests else None
    if metric == "rps":
        if obs.elapsed <= 0 or obs.requests == 0:
            return None
        return obs.requests / obs.elapsed * rps_scale
    return H.value_ms(obs.hist, metric, obs.sum_us)


def evaluate(rule: RulePlan, obs: Observed | None, rps_scale: float = 1.0) -> Outcome:
    value = observe(rule, obs, rps_scale)
    if value is None:
        return Outcome(rule, False, None, "no samples: a threshold over nothing fails")
    passed = OPS[rule.op](value, rule.value)
    if rule.metric == "error_rate":
        shown, wanted = f"{value:.2%}", f"{rule.value:.2%}"
    else:
        unit = " req/s" if rule.metric == "rps" else " ms"
        shown, wanted = f"{value:.4g}{unit}", f"{rule.value:g}{unit}"
    return Outcome(rule, passed, round(value, 6), f"observed {shown}, wanted {rule.op} {wanted}")
