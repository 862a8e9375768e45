"""One run against last night and the baseline, series by series: frames in, a ``RunComparison`` out.

The contract of the result is in :mod:`.comparison`; the two statistical tests in :mod:`.samples`.
This module decides, per series (endpoint × metric), what each night is compared with and which
test judges, and builds the typed result. No I/O: :mod:`.service` reads the frames.

References
----------
* **Last night** is the newest earlier night of the series the generator vouched for
  (``trusted``); untrustworthy and hand-excluded nights are skipped and listed in
  ``RunComparison.excluded_nights`` (``CompareSettings.use_untrusted`` makes them references).
* **The baseline** is the earlier trusted nights since the current stored baseline began (its
  ``first_run_id``), at most ``reference_nights`` of them, **without** the nights that were
  themselves judged a regression against it (``flags``): a regression on night 3 does not become
  the norm of night 4. A regression the baseline policy later accepted (a version whose reason is
  "regression … accepted", see :mod:`.baselines`) is the norm again: flags older than that
  version no longer count. So is one whose flagged nights have run ``accept_regression_after``
  nights in a row (14, the baseline policy's), even when too few nights came before it for a
  change point to confirm it: the baseline is then those nights.

Tests and thresholds
--------------------
Two nights of an unchanged service differ by more than either run's seconds say: on our shared
2-core CI machine the p50 of the demo service's endpoints moved by 11–14 % (log SD) between trusted
nights, p95 by 34–67 %, p99 by 48–67 %, the mean by 26–36 % (``bench/data/recorded-runs.json.gz``;
the quieter endpoints move most: their per-second tails are a handful of requests). So every
judgement needs the **between-nights** test, with the spread between nights learned from the
nights themselves and, while they are few, shrunk towards a per-metric prior
(:data:`PRIOR_SPREAD`, worth ``prior_nights`` = 6 nights; see :func:`.samples.between_nights`).

* Two nights (this one and one before): :attr:`Method.WITHIN_RUN`: the blocked Mann–Whitney test
  of the per-second samples **and** the between-nights test against the prior spread alone, and
  a change of at least ``first_min_change`` (default 50 %). With the defaults a 3× slower p50 is
  flagged on night two (t = 5.2 on 6 d.f.), a 3× slower p95 alone is not: on a machine where p95
  moves 3.8× between nights of an unchanged service, one earlier night cannot tell.
* From the third night: :attr:`Method.BETWEEN_NIGHTS`: the same two tests, the spread now learned
  from the baseline nights (shrunk), and ``min_change`` (3 %).
* Each test at ``alpha`` (1 %); ``p_value`` is the larger of the two.
* The effect must show twice, in the same direction: in the whole-run value (what the report
  shows, e.g. p95 from the HDR histogram) **and** in the per-second samples (their Hodges–Lehmann
  shift), so neither a few stalled seconds (whole run only) nor a quiet stretch (a few seconds only)
  makes a regression. The smaller of the two is what the between-nights test weighs and what must
  reach the threshold and the metric's absolute floor (``Metric.min_abs_change``). (On recorded
  runs, a mean ×2–5 from a few slow requests with the per-second median up 25 % was the commonest
  false alarm before this rule.)
* Seconds in which the generator itself lagged (``loop_lag_ms`` or ``sched_lag_ms`` of the run's
  ``_overall`` row above ``max_generator_lag_ms``) are left out of the within-run test: they time
  the generator, not the target. This is also what lets an untrustworthy run be judged on the
  seconds it can vouch for, when ``judge_untrusted`` is set. By default an untrustworthy run is
  compared and shown, but not judged (``significant`` false, the note says why): on the recorded
  runs, a loaded machine slowed the service itself (p50 up to 5×) in seconds the generator was
  fine, and judging those runs raised a false alarm on most nights.
* ``mean_ms`` has no per-second series: its within-run witness is the per-second median of the
  same endpoint (see :data:`SECOND_COLUMN`); without per-second rows at all (older warehouses)
  a series is judged between nights only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from warehouse.analytics.comparison import (
    ChangePointNote,
    Comparison,
    ExcludedNight,
    Method,
    MethodStatus,
    RunComparison,
    SeriesVerdict,
    method_needs,
)
from warehouse.analytics.metrics import DEFAULT_METRICS, METRICS, Metric
from warehouse.analytics.samples import BetweenNights, between_nights, student_t_sf2, usable, within_run

#: per-second column each metric's within-run test reads. The mean has no per-second series: its
#: witness is the per-second median (a mean pushed up by a few stalled requests alone is not a
#: regression of the service; a tail that really grew shows in p95/p99's own tests)
SECOND_COLUMN: dict[str, str | None] = {"p50_ms": "p50_ms", "p95_ms": "p95_ms", "p99_ms": "p99_ms",
                                        "mean_ms": "p50_ms", "error_rate": "error_rate", "rps": "requests"}
#: columns of the per-second frame :func:`compare_run` reads
SECONDS_SCHEMA = {"run_id": pl.String, "endpoint": pl.String, "second": pl.Int64, "requests": pl.Int64,
                  "errors": pl.Int64, "p50_ms": pl.Float64, "p95_ms": pl.Float64, "p99_ms": pl.Float64,
                  "generator_lag_ms": pl.Float64}
#: columns of the history frame: every night of the group's series, trusted or not
HISTORY_SCHEMA = {"endpoint": pl.String, "metric": pl.String, "run_id": pl.String,
                  "night": pl.Datetime("us", "UTC"), "value": pl.Float64, "trusted": pl.Boolean,
                  "reason": pl.String}


#: between-night spread assumed per metric until the nights tell (log scale; error rate: absolute).
#: Measured on trusted runs of an unchanged service on our shared 2-core CI machine (see the module
#: docstring), the noisiest endpoint's, rounded up: conservative for a quiet host, whose own nights
#: soon replace them (``analytics.compare.prior_spread`` sets them per campaign).
PRIOR_SPREAD: dict[str, float] = {"p50_ms": 0.15, "p95_ms": 0.70, "p99_ms": 0.80, "mean_ms": 0.40,
                                  "rps": 0.10, "error_rate": 0.005}


@dataclass(frozen=True)
class CompareSettings:
    """How nights are compared (``campaigns.analytics.CompareOptions`` builds one from a campaign)."""

    alpha: float = 0.01                    #: significance of each test
    first_min_change: float = 0.50         #: smallest change judged with only one earlier night
    min_change: float = 0.03               #: smallest change judged from the third night
    #: s0 per metric, overriding :data:`PRIOR_SPREAD` (log units; error rate absolute)
    prior_spread: Mapping[str, float] | None = None
    prior_nights: float = 6.0              #: ν0: how many nights the prior is worth
    reference_nights: int = 30             #: baseline nights used at most
    within_reference_runs: int = 5         #: baseline runs whose seconds are pooled for the within-run test
    min_blocks: int = 4                    #: blocks each side for a within-run test
    max_generator_lag_ms: float = 25.0     #: seconds the generator lagged more are not samples
    accept_regression_after: int | None = 14  #: nights after which a lasting regression is the norm (None: never)
    use_untrusted: bool = False            #: untrustworthy nights may be references
    judge_untrusted: bool = False          #: an untrustworthy run is judged on its clean seconds

    def spread(self, metric: str) -> float:
        return (self.prior_spread or {}).get(metric, PRIOR_SPREAD.get(metric, 0.3))
    min_segment: int = 3                   #: the change-point detector's (for the nights it needs)
    gate_metrics: tuple[str, ...] = DEFAULT_METRICS


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    campaign: str
    environment: str
    test_type: str
    night: datetime
    trusted: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class BaselineRef:
    """The current stored baseline version of a series: where its nights begin and when it was learned."""

    first_run_id: str | None
    valid_from: datetime
    center: float | None = None
    accepted_regression: bool = False   #: learned from a regression the policy accepted


@dataclass(frozen=True)
class SeriesRefs:
    previous: tuple[str, datetime, float] | None      #: (run, night, value) of last night
    pool: list[tuple[str, datetime, float]]           #: baseline nights, oldest first
    earlier: int                                      #: trusted earlier nights


@dataclass(frozen=True)
class References:
    """What each series of the run is compared with (see the module docstring)."""

    run: RunInfo
    values: dict[tuple[str, str], float]                        #: this run's value per series
    series: dict[tuple[str, str], SeriesRefs]
    excluded: list[ExcludedNight]
    nights: int                                                 #: trusted nights of the group, this one included
    previous_run_id: str | None

    def run_ids(self, settings: CompareSettings) -> list[str]:
        """Runs whose per-second samples the comparison reads: this one, last night, the newest pool runs."""
        ids = {self.run.run_id}
        for refs in self.series.values():
            if refs.previous:
                ids.add(refs.previous[0])
            ids.update(r for r, _, _ in refs.pool[-settings.within_reference_runs:])
        return sorted(ids)


def _log_scale(metric: str) -> bool:
    return metric != "error_rate"


def plan_references(run: RunInfo, history: pl.DataFrame, *, flags: Mapping[tuple[str, str, str], datetime],
                    baselines: Mapping[tuple[str, str], BaselineRef], settings: CompareSettings) -> References:
    """Last night and the baseline nights of every series the run measured.

    ``history`` has :data:`HISTORY_SCHEMA` (this run's rows included); ``flags`` maps (run_id,
    endpoint, metric) to when that night was judged a regression against the baseline; ``baselines``
    maps (endpoint, metric) to the current stored baseline version.
    """
    mine = history.filter(pl.col("run_id") == run.run_id)
    values = {(e, m): v for e, m, v in mine.select("endpoint", "metric", "value").iter_rows()}
    earlier = history.filter((pl.col("night") < run.night) & (pl.col("run_id") != run.run_id)).sort("night")
    usable_nights = earlier if settings.use_untrusted else earlier.filter(pl.col("trusted"))
    nights = usable_nights["run_id"].n_unique() + 1 if not usable_nights.is_empty() else 1
    excluded: list[ExcludedNight] = []
    if not settings.use_untrusted:
        skipped = (earlier.filter(~pl.col("trusted")).group_by("run_id")
                   .agg(pl.col("night").first(), pl.col("reason").first()).sort("night", descending=True))
        excluded = [ExcludedNight(run_id=r, night=n, reason=why or "untrustworthy")
                    for r, n, why in skipped.head(20).iter_rows()]
    previous_run = usable_nights["run_id"][-1] if not usable_nights.is_empty() else None
    run_nights = {r: n for r, n in usable_nights.select("run_id", "night").unique("run_id").iter_rows()}
    per: dict[tuple[str, str], SeriesRefs] = {}
    grouped = {k: g for k, g in usable_nights.partition_by(["endpoint", "metric"], as_dict=True).items()} \
        if not usable_nights.is_empty() else {}
    for key in values:
        rows = grouped.get(key)
        if rows is None or rows.is_empty():
            per[key] = SeriesRefs(None, [], 0)
            continue
        ids, stamps, vals = rows["run_id"].to_list(), rows["night"].to_list(), rows["value"].to_list()
        previous = (ids[-1], stamps[-1], vals[-1])
        base = baselines.get(key)
        start = run_nights.get(base.first_run_id) if base and base.first_run_id else None
        in_force = [flags.get((r, *key)) is not None and not (
            base is not None and base.accepted_regression and flags[(r, *key)] < base.valid_from) for r in ids]
        accepted = _accepted_from(in_force, settings.accept_regression_after)
        if accepted is not None:   # a regression that lasted is the norm now: its nights and later ones
            pool = [(r, n, v) for i, (r, n, v, flagged) in enumerate(zip(ids, stamps, vals, in_force))
                    if i >= accepted and (not flagged or i < accepted + settings.accept_regression_after)]
        else:
            pool = [(r, n, v) for r, n, v, flagged in zip(ids, stamps, vals, in_force)
                    if not flagged and (start is None or n >= start)]
        per[key] = SeriesRefs(previous, pool[-settings.reference_nights:], len(ids))
    return References(run, values, per, excluded, nights, previous_run)


def _accepted_from(flagged: list[bool], after: int | None) -> int | None:
    """Where the newest run of ``after`` flagged nights in a row begins (None: no such run)."""
    if after is None:
        return None
    run = 0
    start = None
    for i, f in enumerate(flagged):
        run = run + 1 if f else 0
        if run == after:
            start = i - after + 1
    return start


def _per_second(seconds: pl.DataFrame, settings: CompareSettings) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """(run_id, endpoint) → per-second arrays, generator-lagged seconds removed."""
    if seconds.is_empty():
        return {}
    frame = seconds.sort("run_id", "endpoint", "second")
    lag = pl.col("generator_lag_ms").fill_null(0.0)
    frame = frame.with_columns(clean=lag <= settings.max_generator_lag_ms,
                               error_rate=pl.when(pl.col("requests") > 0)
                               .then(pl.col("errors") / pl.col("requests")))
    out: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for key, part in frame.partition_by(["run_id", "endpoint"], as_dict=True).items():
        out[(str(key[0]), str(key[1]))] = {c: part[c].cast(pl.Float64).to_numpy()
                                           for c in ("requests", "p50_ms", "p95_ms", "p99_ms", "error_rate")} | {
            "clean": part["clean"].to_numpy()}
    return out


def _samples(arrays: dict[str, np.ndarray] | None, metric: str) -> np.ndarray | None:
    column = SECOND_COLUMN.get(metric)
    if arrays is None or column is None:
        return None
    values = arrays[column]
    keep = usable(arrays["requests"], values) & arrays["clean"]
    return values[keep]


def _scale(metric: str, value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    if _log_scale(metric):
        return math.log(value) if value > 0 else None
    return value


def _unscale(metric: str, value: float) -> float:
    return math.exp(value) if _log_scale(metric) else value


def _shift_rel(metric: str, shift: float | None, reference: float | None) -> float | None:
    """The per-second shift as a relative change (log scale) or against the reference value."""
    if shift is None:
        return None
    if _log_scale(metric):
        return math.expm1(shift)
    if reference:
        return shift / abs(reference)
    return math.inf if shift > 0 else (-math.inf if shift < 0 else 0.0)


def _judge(info: Metric | None, metric: str, *, reference: str, method: Method, value: float,
           ref_value: float, ref_run: str | None, ref_night: datetime | None, ref_nights: int,
           p_within: Any, between: BetweenNights | None, threshold: float, settings: CompareSettings,
           nights: int, needed: int, note: str, judged: bool = True) -> Comparison:
    """One comparison. The change the between-nights test weighs is the *smaller* of the whole-run
    change and the per-second shift (when they agree in sign; none when they do not): a mean blown
    up by a few slow requests while the per-second median barely moved is judged by that small move."""
    abs_change = value - ref_value
    rel = abs_change / abs(ref_value) if ref_value else (math.inf if abs_change > 0 else
                                                          (-math.inf if abs_change < 0 else 0.0))
    shift = _shift_rel(metric, p_within.shift, ref_value) if p_within is not None else None
    whole = _scaled_change(metric, value, ref_value)
    seen = whole
    if p_within is not None and p_within.shift is not None and whole is not None:
        agree = (p_within.shift > 0) == (whole > 0) and p_within.shift != 0
        seen = math.copysign(min(abs(whole), abs(p_within.shift)), whole) if agree else 0.0
    p_between = None
    if between is not None and seen is not None and between.spread > 0:
        factor = math.sqrt(2) if reference == "previous" else math.sqrt(1 + 1 / max(ref_nights, 1))
        p_between = student_t_sf2(seen / (between.spread * factor), between.df)
    ps = [p for p in (p_within.p_value if p_within is not None else None, p_between) if p is not None]
    p_value = max(ps) if ps else None
    effect = abs(rel)
    if shift is not None:
        effect = min(effect, abs(shift)) if (shift > 0) == (rel > 0) and shift != 0 else 0.0
    floor = info.min_abs_change if info else 0.0
    significant = (judged and p_value is not None and p_value < settings.alpha and effect >= threshold
                   and abs(abs_change) >= floor and abs_change != 0)
    direction = info.direction(abs_change) if info else ("flat" if abs_change == 0 else "regression")
    block = p_within.block if p_within is not None else None
    blocks = p_within.blocks if p_within is not None else None
    return Comparison(
        reference=reference, method=method, value=value, reference_value=ref_value, reference_run_id=ref_run,
        reference_night=ref_night, reference_nights=ref_nights, abs_change=abs_change,
        rel_change=rel if math.isfinite(rel) else None, p_value=p_value,
        p_within=p_within.p_value if p_within is not None else None, p_between=p_between, alpha=settings.alpha,
        min_change=threshold, significant=significant, direction=direction, nights_available=nights,
        nights_needed=needed, block_seconds=block, blocks=blocks, shift=shift if shift is None or
        math.isfinite(shift) else None, note=note)


def _scaled_change(metric: str, value: float, reference: float) -> float | None:
    """value − reference on the metric's scale (log ratio for positive metrics)."""
    if _log_scale(metric):
        return math.log(value / reference) if value > 0 and reference > 0 else None
    return value - reference


def _not_judged(reference: str, value: float | None, nights: int, needed: int, note: str,
                ref: tuple[str, datetime, float] | None = None, ref_nights: int = 0) -> Comparison:
    return Comparison(reference=reference, method=Method.NONE, value=value,
                      reference_value=ref[2] if ref else None, reference_run_id=ref[0] if ref else None,
                      reference_night=ref[1] if ref else None, reference_nights=ref_nights,
                      nights_available=nights, nights_needed=needed, note=note)


def _compare_series(refs: References, key: tuple[str, str], value: float, seconds: dict, settings: CompareSettings
                    ) -> tuple[Comparison, Comparison]:
    endpoint, metric = key
    info = METRICS.get(metric)
    series = refs.series[key]
    nights = series.earlier + 1
    needs = method_needs(settings.min_segment)
    untrusted_note = ""
    if not refs.run.trusted:
        untrusted_note = ("untrustworthy run, judged on the seconds the generator vouched for"
                          if settings.judge_untrusted else "untrustworthy run: compared, not judged")
    if series.previous is None:
        note = "first trustworthy night of this series: nothing to compare with yet"
        return (_not_judged("previous", value, nights, needs[Method.WITHIN_RUN], note),
                _not_judged("baseline", value, nights, needs[Method.WITHIN_RUN], note))
    current = _samples(seconds.get((refs.run.run_id, endpoint)), metric)
    method = Method.WITHIN_RUN if nights < needs[Method.BETWEEN_NIGHTS] else Method.BETWEEN_NIGHTS
    threshold = settings.first_min_change if method is Method.WITHIN_RUN else settings.min_change
    needed = needs[method]
    log = _log_scale(metric)

    def within(ref_runs: list[str]) -> Any:
        if current is None:
            return None
        ref_samples = [s for r in ref_runs if (s := _samples(seconds.get((r, endpoint)), metric)) is not None]
        if not ref_samples:
            return None
        return within_run(current, ref_samples, log=log, min_blocks=settings.min_blocks)

    x = _scale(metric, value)
    pool_scaled = [s for _, _, v in series.pool if (s := _scale(metric, v)) is not None]
    between = None
    if x is not None:
        between = between_nights(x, pool_scaled, previous=_scale(metric, series.previous[2]),
                                 prior_spread=settings.spread(metric), prior_nights=settings.prior_nights)

    def note_for(test: Any) -> str:
        parts = [untrusted_note] if untrusted_note else []
        if test is None:
            parts.append("no per-second samples: between nights only")
        elif metric == "mean_ms":
            parts.append("within the run: the per-second median as the mean's witness")
        elif test.p_value is None:
            parts.append(test.note)
        return "; ".join(parts)

    judged = refs.run.trusted or settings.judge_untrusted
    # vs last night
    prev_run, prev_night, prev_value = series.previous
    w_prev = within([prev_run])
    vs_previous = _judge(info, metric, reference="previous", method=method, value=value, ref_value=prev_value,
                         ref_run=prev_run, ref_night=prev_night, ref_nights=1, p_within=w_prev,
                         between=between, threshold=threshold,
                         settings=settings, nights=nights, needed=needed, note=note_for(w_prev), judged=judged)
    # vs the baseline
    if not series.pool:
        note = "every earlier night is a regression not yet accepted" if series.earlier else "no earlier night"
        vs_baseline = _not_judged("baseline", value, nights, needed, note)
    else:
        pool_runs = [r for r, _, _ in series.pool]
        if log:
            center = math.exp(sum(pool_scaled) / len(pool_scaled)) if pool_scaled else series.pool[-1][2]
        else:
            center = sum(v for _, _, v in series.pool) / len(series.pool)
        w_base = w_prev if pool_runs == [prev_run] else within(pool_runs[-settings.within_reference_runs:])
        vs_baseline = _judge(info, metric, reference="baseline", method=method, value=value, ref_value=center,
                             ref_run=pool_runs[-1] if len(pool_runs) == 1 else None,
                             ref_night=series.pool[0][1], ref_nights=len(series.pool), p_within=w_base,
                             between=between, threshold=threshold,
                             settings=settings, nights=nights, needed=needed, note=note_for(w_base), judged=judged)
    return vs_previous, vs_baseline


def compare_run(refs: References, seconds: pl.DataFrame, *, settings: CompareSettings,
                change_points: pl.DataFrame | None = None, fresh_nights: int = 7) -> RunComparison:
    """The run's :class:`RunComparison` (see the module docstring).

    ``seconds`` has :data:`SECONDS_SCHEMA` for the runs :meth:`References.run_ids` names;
    ``change_points`` the group's open change points (``.regressions.CHANGE_POINT_SCHEMA`` plus
    ``fresh``: whether the regime began within the last ``fresh_nights`` nights).
    """
    arrays = _per_second(seconds, settings)
    cps = _change_points(change_points)
    needs = method_needs(settings.min_segment)
    run = refs.run
    out: list[SeriesVerdict] = []
    for key in sorted(refs.values):
        endpoint, metric = key
        value = refs.values[key]
        info = METRICS.get(metric)
        if value is None or not math.isfinite(value):
            continue
        vs_previous, vs_baseline = _compare_series(refs, key, value, arrays, settings)
        cp = cps.get(key)
        nights = refs.series[key].earlier + 1
        verdict = SeriesVerdict(
            campaign=run.campaign, environment=run.environment, test_type=run.test_type, endpoint=endpoint,
            metric=metric, unit=info.unit if info else "", better=info.better if info else "lower",
            run_id=run.run_id, night=run.night, value=value, vs_previous=vs_previous, vs_baseline=vs_baseline,
            change_point=cp, judged_by=_judged_by(vs_previous, vs_baseline, cp, nights, needs),
            gating=metric in settings.gate_metrics)
        out.append(verdict)
    methods = [MethodStatus(method=m, nights_needed=n, nights_available=refs.nights) for m, n in needs.items()]
    note = "" if run.trusted else "untrustworthy run: " + "; ".join(run.reasons)
    return RunComparison(campaign=run.campaign, environment=run.environment, test_type=run.test_type,
                         run_id=run.run_id, night=run.night, trusted=run.trusted,
                         untrusted_reasons=list(run.reasons), nights=refs.nights, alpha=settings.alpha,
                         methods=methods, series=out, excluded_nights=refs.excluded,
                         previous_run_id=refs.previous_run_id, note=note)


def _judged_by(prev: Comparison, base: Comparison, cp: ChangePointNote | None, nights: int,
               needs: dict[Method, int]) -> Method:
    if cp is not None and cp.fresh and cp.direction == "regression":
        return Method.CHANGE_POINT
    for c in (prev, base):
        if c.regression:
            return c.method
    if nights >= needs[Method.CHANGE_POINT]:
        return Method.CHANGE_POINT
    used = [c.method for c in (prev, base) if c.method is not Method.NONE]
    return Method.BETWEEN_NIGHTS if Method.BETWEEN_NIGHTS in used else (used[0] if used else Method.NONE)


def _change_points(frame: pl.DataFrame | None) -> dict[tuple[str, str], ChangePointNote]:
    """The newest open change point of each series."""
    if frame is None or frame.is_empty():
        return {}
    out: dict[tuple[str, str], ChangePointNote] = {}
    for row in frame.sort("night").to_dicts():
        out[(row["endpoint"], row["metric"])] = ChangePointNote(
            run_id=row["run_id"], night=row["night"], direction=row["direction"], before_value=row["before_value"],
            after_value=row["after_value"], rel_change=row["rel_change"], p_value=row["p_value"],
            nights_after=int(row.get("nights_after") or 0), fresh=bool(row.get("fresh", False)))
    return out


def comparison_rows(result: RunComparison, computed_at: datetime) -> list[dict[str, Any]]:
    """``night_comparisons`` rows of a result (what later runs read as ``flags``)."""
    rows = []
    for s in result.series:
        for c in (s.vs_previous, s.vs_baseline):
            rows.append({"run_id": s.run_id, "campaign": s.campaign, "environment": s.environment,
                         "test_type": s.test_type, "endpoint": s.endpoint, "metric": s.metric, "night": s.night,
                         "reference": c.reference, "method": c.method.value, "value": c.value,
                         "reference_value": c.reference_value, "reference_run_id": c.reference_run_id,
                         "reference_nights": c.reference_nights, "rel_change": c.rel_change, "shift": c.shift,
                         "p_value": c.p_value, "p_within": c.p_within, "p_between": c.p_between,
                         "significant": c.significant, "direction": c.direction, "trusted": result.trusted,
                         "nights_available": c.nights_available, "nights_needed": c.nights_needed,
                         "note": c.note, "computed_at": computed_at})
    return rows


__all__ = ["BaselineRef", "CompareSettings", "HISTORY_SCHEMA", "References", "RunInfo", "SECONDS_SCHEMA",
           "compare_run", "comparison_rows", "plan_references"]
