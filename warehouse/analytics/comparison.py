"""The morning's regression verdict, typed: each series of a run against last night and the baseline.

Contract (what outputs read; the statistics that fill it live in :mod:`.samples` and :mod:`.nightly`)
----------------------------------------------------------------------------------------------------
One :class:`RunComparison` per run, i.e. per campaign × environment × night. It holds one
:class:`SeriesVerdict` per series (endpoint × metric) the run measured, and each series carries two
:class:`Comparison` objects:

* ``vs_previous``: this night against the **previous trustworthy night** of the same campaign,
  environment and test type (``reference="previous"``);
* ``vs_baseline``: this night against the **baseline**: the earlier trustworthy nights since the
  series' current stored baseline version began (all earlier ones before a baseline exists), at
  most 30, without the nights that were themselves judged a regression against it — until the
  baseline policy accepts that regression (``reference="baseline"``, ``reference_value`` their
  geometric mean, ``reference_nights`` how many).

Every comparison says, in plain fields: ``value`` and ``reference_value`` (in the metric's ``unit``),
``rel_change`` (``value / reference − 1``), ``p_value`` (the larger of the p-values of the tests that
judged, so ``p_value < alpha`` means *every* test agreed), ``shift`` (the same change in the
per-second samples), ``significant`` (the tests agreed **and** both the whole-run change and the
per-second shift reach ``min_change``, the same way), ``direction`` (``regression`` / ``improvement`` by the
metric's good direction, ``flat``), the ``method`` that judged, and ``nights_available`` /
``nights_needed`` for that method. When a comparison could not be judged, ``method`` is
:attr:`Method.NONE`, ``significant`` is false and ``note`` says why ("first night", "no per-second
samples", "the run is untrustworthy"…).

Methods, and the nights each needs (``MethodStatus`` lists them per run, with what is available):

* :attr:`Method.WITHIN_RUN` (2 nights: this one and one before): the run's per-second samples
  against the reference run's, in blocks as long as their autocorrelation asks, Mann–Whitney U on
  the block means; **and** the night against the spread nights of an unchanged service are assumed
  to have (a per-metric prior: p50 15 %, p95 70 %, p99 80 % on our CI machine); and a change of at
  least ``first_min_change`` (50 %).
* :attr:`Method.BETWEEN_NIGHTS` (3 nights: from the third night on): the same two tests, the spread
  between nights now learned from the baseline nights (shrunk towards the prior while they are
  few), and ``min_change`` (3 %).
* :attr:`Method.CHANGE_POINT` (``2 × min_segment`` nights, 6 by default): the change-point detector
  (:mod:`.changepoints`) confirms a lasting shift once the new regime has ``min_segment`` nights;
  a fresh one (begun within ``fresh_nights``) fails the run and judges the series from then on
  (``SeriesVerdict.judged_by``), while the night-against-night tests keep raising the alarm on the
  first night of the next step.

Details, thresholds and the measurements behind them: :mod:`.nightly` and :mod:`.samples`.
Detection and false-alarm rates on real recorded runs: ``python -m bench.regressions``.

A run the load generator could not vouch for (``load_runs.trustworthy`` false) is **marked**, never
dropped: ``RunComparison.trusted`` is false with the reasons, its comparisons are computed and
shown (``describe``, ``headline``) but, by default, not judged (``significant`` false, ``note``
says so; ``analytics.compare.untrusted: judge`` judges it on the seconds the generator vouched
for), and later runs do not use it as a reference (``excluded_nights`` lists the nights skipped,
with why).

:meth:`RunComparison.gates` turns the verdict into ``tasks.base.Gate`` rows (stage ``analysis``):
one failing gate per significant regression (vs last night and/or vs baseline, one gate per
series), or one passing gate. Outputs should read these models (``model_dump(mode="json")`` for
documents); they never need the warehouse.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tasks.base import Gate

STAGE = "analysis"

Direction = Literal["regression", "improvement", "flat"]
Reference = Literal["previous", "baseline"]


class Method(StrEnum):
    """Which test judged a comparison (or a series)."""

    NONE = "none"                       #: not judged (see ``note``)
    WITHIN_RUN = "within-run"           #: per-second samples of the two runs, blocked Mann–Whitney
    BETWEEN_NIGHTS = "between-nights"   #: within-run test and the spread between earlier nights
    CHANGE_POINT = "change-point"       #: the change-point detector over the nightly series


#: nights (this one included) each method needs; change points: ``2 × min_segment`` (:func:`method_needs`)
NIGHTS_NEEDED: dict[Method, int] = {Method.WITHIN_RUN: 2, Method.BETWEEN_NIGHTS: 3}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MethodStatus(_Model):
    """A method, the nights it needs and the nights the series has (this night included)."""

    method: Method
    nights_needed: int = Field(description="Nights of history, this one included, before it can judge.")
    nights_available: int

    @property
    def ready(self) -> bool:
        return self.nights_available >= self.nights_needed


class Comparison(_Model):
    """This night's value of one series against a reference (last night, or the baseline)."""

    reference: Reference
    method: Method = Method.NONE
    value: float | None = None
    reference_value: float | None = None
    reference_run_id: str | None = None
    reference_night: datetime | None = None
    reference_nights: int = Field(0, description="Nights the reference is made of (1 for last night).")
    abs_change: float | None = None
    rel_change: float | None = Field(None, description="value / reference − 1.")
    shift: float | None = Field(None, description="The same change seen in the per-second samples "
                                                  "(Hodges–Lehmann shift, relative).")
    p_value: float | None = Field(None, description="The largest p-value of the tests that judged.")
    p_within: float | None = Field(None, description="Within-run test (per-second blocks, Mann–Whitney U).")
    p_between: float | None = Field(None, description="The night against the spread between earlier nights.")
    alpha: float = 0.01
    min_change: float = Field(0.0, description="Smallest relative change that can be significant.")
    significant: bool = False
    direction: Direction = "flat"
    nights_available: int = Field(0, description="Trustworthy nights of the series, this one included.")
    nights_needed: int = Field(0, description="Nights the method needs, this one included.")
    block_seconds: int | None = Field(None, description="Block length of the within-run test (autocorrelation).")
    blocks: tuple[int, int] | None = Field(None, description="Blocks compared (this run, the reference).")
    note: str = ""

    @property
    def regression(self) -> bool:
        return self.significant and self.direction == "regression"

    @property
    def improvement(self) -> bool:
        return self.significant and self.direction == "improvement"

    def describe(self, unit: str = "") -> str:
        """``+252% vs last night (p=0.0004, within-run)`` or why it was not judged."""
        where = "vs last night" if self.reference == "previous" else "vs baseline"
        if self.method is Method.NONE or self.rel_change is None:
            return f"{where}: {self.note or 'not judged'}"
        p = "" if self.p_value is None else f"p={_p(self.p_value)}, "
        verdict = "" if self.significant else ", not significant"
        return f"{self.rel_change * 100:+.0f}% {where} ({p}{self.method.value}{verdict})"


class ChangePointNote(_Model):
    """A change point of the series (the detector's, see :mod:`.changepoints`) that explains this night."""

    run_id: str
    night: datetime
    direction: Direction
    before_value: float | None
    after_value: float | None
    rel_change: float | None
    p_value: float | None
    nights_after: int
    fresh: bool = Field(description="The regime began within the campaign's fresh_nights.")


class SeriesVerdict(_Model):
    """One series (endpoint × metric) of the run: this night, both comparisons, and who judged."""

    campaign: str
    environment: str
    test_type: str
    endpoint: str
    metric: str
    unit: str
    better: Literal["lower", "higher"]
    run_id: str
    night: datetime
    value: float | None
    vs_previous: Comparison
    vs_baseline: Comparison
    change_point: ChangePointNote | None = None
    judged_by: Method = Method.NONE
    gating: bool = Field(True, description="The metric is one of the campaign's gate_metrics.")

    @property
    def regression(self) -> bool:
        """A significant regression against last night or the baseline, or a fresh change point."""
        cp = self.change_point is not None and self.change_point.fresh and self.change_point.direction == "regression"
        return self.vs_previous.regression or self.vs_baseline.regression or cp

    def describe(self) -> str:
        """``dev list-products p95 36.6 ms: +490% vs last night (p=…), +250% vs baseline (…)``."""
        value = "n/a" if self.value is None else _fmt(self.metric, self.value, self.unit)
        parts = [self.vs_previous.describe(self.unit), self.vs_baseline.describe(self.unit)]
        if self.change_point is not None and self.change_point.fresh:
            cp = self.change_point
            rel = "" if cp.rel_change is None else f" {cp.rel_change * 100:+.1f}%"
            p = "" if cp.p_value is None else f", p={_p(cp.p_value)}"
            parts.append(f"{cp.direction}{rel} since {cp.night:%Y-%m-%d} (run {cp.run_id[:8]}, "
                         f"{cp.nights_after} nights{p}, change-point)")
        return f"{self.endpoint} {_label(self.metric)} {value}: " + "; ".join(parts)


class ExcludedNight(_Model):
    """A night left out as a reference, and why (untrustworthy load, excluded by hand, errored run)."""

    run_id: str
    night: datetime
    reason: str


class RunComparison(_Model):
    """The regression verdict of one run (campaign × environment × night)."""

    campaign: str
    environment: str
    test_type: str
    run_id: str
    night: datetime | None = None
    trusted: bool = True
    untrusted_reasons: list[str] = Field(default_factory=list)
    nights: int = Field(0, description="Trustworthy nights of the series, this one included.")
    alpha: float = 0.01
    methods: list[MethodStatus] = Field(default_factory=list)
    series: list[SeriesVerdict] = Field(default_factory=list)
    excluded_nights: list[ExcludedNight] = Field(default_factory=list)
    previous_run_id: str | None = None
    note: str = ""

    @property
    def regressions(self) -> list[SeriesVerdict]:
        """Gating series with a significant regression. An untrustworthy run's are judged on the
        seconds the generator vouched for (unless the campaign says not to judge it at all)."""
        return [s for s in self.series if s.gating and s.regression]

    @property
    def improvements(self) -> list[SeriesVerdict]:
        return [s for s in self.series if s.vs_previous.improvement or s.vs_baseline.improvement]

    def series_for(self, endpoint: str, metric: str) -> SeriesVerdict | None:
        return next((s for s in self.series if s.endpoint == endpoint and s.metric == metric), None)

    def headline(self) -> str:
        """One line for a headline: the worst regression, or how the run stands and what judged it."""
        caveat = "" if self.trusted else " [untrustworthy run: " + ("; ".join(self.untrusted_reasons) or "?") + "]"
        found = self.regressions
        if found:
            worst = max(found, key=lambda s: abs(_worst_change(s)))
            more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
            return worst.describe() + more + caveat
        if self.nights <= 1:
            return "first night: nothing to compare with yet" + caveat
        ready = [m.method.value for m in self.methods if m.ready]
        return (f"no significant regression vs last night or baseline ({', '.join(ready) or 'no method ready'})"
                + caveat)

    def gates(self) -> list[Gate]:
        """Failing gates for significant regressions (one per series), or one passing gate."""
        found = self.regressions
        if not found:
            return [Gate(STAGE, "no regression vs last night or baseline", True, observed=0, limit=0,
                         detail=self.headline())]
        gates = []
        for s in sorted(found, key=lambda s: (s.endpoint, s.metric)):
            which = [c for c in (s.vs_previous, s.vs_baseline) if c.regression]
            ref = which[0] if which else s.vs_baseline
            caveat = "" if self.trusted else " (untrustworthy run, judged on the seconds the generator vouched for)"
            gates.append(Gate(STAGE, f"regression {_label(s.metric)}", False, observed=s.value,
                              limit=ref.reference_value, endpoint=s.endpoint, detail=s.describe() + caveat))
        return gates


def method_needs(min_segment: int) -> dict[Method, int]:
    """Nights (this one included) each method needs before it can judge a series."""
    return {**NIGHTS_NEEDED, Method.CHANGE_POINT: 2 * min_segment}


def _worst_change(s: SeriesVerdict) -> float:
    changes = [c.rel_change for c in (s.vs_previous, s.vs_baseline) if c.regression and c.rel_change is not None]
    return max(changes, key=abs) if changes else 0.0


_LABELS = {"p50_ms": "p50", "p95_ms": "p95", "p99_ms": "p99", "mean_ms": "mean", "error_rate": "error rate",
           "rps": "rps"}


def _label(metric: str) -> str:
    return _LABELS.get(metric, metric)


def _fmt(metric: str, value: float, unit: str) -> str:
    if metric == "error_rate":
        return f"{value * 100:.2f}%"
    return f"{value:.3g} {unit}".rstrip()


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 1e-4 else "<0.0001"


__all__ = ["ChangePointNote", "Comparison", "ExcludedNight", "Method", "MethodStatus", "RunComparison",
           "SeriesVerdict", "method_needs"]
