"""Each night against last night and the baseline, from the per-second samples a load run stores.

Fast tests on a real DuckDB file with generated per-second series (the real-service evidence is in
``test_regressions_real.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from warehouse.analytics.comparison import Method
from warehouse.analytics.nightly import CompareSettings
from warehouse.analytics.service import AnalyticsSettings, analyze_run, evaluate_gates

from .conftest import night

SECONDS = 30


@pytest.fixture
def rng():
    return np.random.default_rng(20250303)


def seconds(rng, level: float, n: int = SECONDS, noise: float = 0.08, rho: float = 0.3) -> np.ndarray:
    e = rng.normal(0, noise, n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = rho * x[i - 1] + e[i]
    return level * np.exp(x)


def add(nights, rng, level: float, *, scale: float = 1.0, run_level: float | None = None, **kwargs) -> str:
    """A night whose per-second p95 wanders around ``level`` × ``scale`` (whole-run p95 alike)."""
    per_second = kwargs.pop("per_second", None)
    if per_second is None:
        per_second = seconds(rng, level * scale)
    whole = run_level if run_level is not None else float(np.quantile(per_second, 0.6))
    return nights.add({"_overall": whole}, seconds={"_overall": per_second}, **kwargs)


def p50(result):
    return result.comparison.series_for("_overall", "p50_ms")


def p95(result):
    return result.comparison.series_for("_overall", "p95_ms")


def test_a_3x_slowdown_on_night_two_is_judged_within_the_run(store, nights, rng):
    add(nights, rng, 10.0, day=0)
    slow = add(nights, rng, 10.0, scale=3.0, day=1)
    result = analyze_run(store, slow, now=night(2))
    s = p50(result)
    assert s.vs_previous.method is Method.WITHIN_RUN and s.vs_previous.nights_needed == 2
    assert s.vs_previous.regression and s.vs_previous.rel_change == pytest.approx(2.0, rel=0.3)
    assert s.vs_previous.p_within < 0.001 and s.vs_previous.shift == pytest.approx(2.0, rel=0.3)
    assert s.vs_previous.p_between < 0.01        # against the prior spread between nights (15 % for p50)
    assert s.vs_baseline.regression and s.judged_by is Method.WITHIN_RUN
    # p95 moves 34–67 % between nights of an unchanged service: one earlier night cannot tell 3× from noise
    assert p95(result).vs_previous.direction == "regression" and not p95(result).vs_previous.significant
    assert result.comparison.nights == 2
    bad = [g for g in evaluate_gates(result) if not g.passed]
    assert {(g.name, g.endpoint) for g in bad} >= {("regression p50", "_overall")}
    assert "vs last night" in next(g.detail for g in bad if g.name == "regression p50")
    stored = store.query("SELECT reference, method, significant FROM night_comparisons WHERE run_id = ? "
                         "AND metric = 'p50_ms' ORDER BY reference", [slow]).rows()
    assert stored == [("baseline", "within-run", True), ("previous", "within-run", True)]


def test_a_30_percent_change_needs_more_than_one_earlier_night(store, nights, rng):
    add(nights, rng, 10.0, day=0)
    slower = add(nights, rng, 10.0, scale=1.3, day=1)
    s = p50(analyze_run(store, slower, now=night(2)))
    assert s.vs_previous.direction == "regression" and s.vs_previous.p_within < 0.01
    assert not s.vs_previous.significant and s.vs_previous.min_change == 0.5


def test_from_the_third_night_the_spread_between_nights_judges_too(store, nights, rng):
    for d in range(4):
        add(nights, rng, 10.0 * (1 + 0.03 * (d % 2)), day=d)
    same = add(nights, rng, 10.2, day=4)
    s = p50(analyze_run(store, same, now=night(5)))
    assert s.vs_previous.method is Method.BETWEEN_NIGHTS and not s.vs_previous.significant
    assert s.vs_baseline.reference_nights == 4 and not s.vs_baseline.significant
    slow = add(nights, rng, 10.0, scale=3.0, day=5)
    s = p50(analyze_run(store, slow, now=night(6)))
    assert s.vs_previous.regression and s.vs_baseline.regression
    assert s.vs_baseline.p_between < 0.01 and s.vs_baseline.p_within < 0.01


def test_a_regression_stays_one_against_the_baseline_the_next_night(store, nights, rng):
    for d in range(3):
        add(nights, rng, 10.0, day=d)
    first = add(nights, rng, 10.0, scale=3.0, day=3)
    assert p50(analyze_run(store, first, now=night(4))).regression
    second = add(nights, rng, 10.0, scale=3.0, day=4)
    s = p50(analyze_run(store, second, now=night(5)))
    assert not s.vs_previous.significant           # the same as last night…
    assert s.vs_baseline.regression                # …but still 3× the nights before it
    assert s.vs_baseline.reference_nights == 3     # night 4 was itself a regression: not the norm


def test_seconds_the_generator_stalled_in_are_not_samples(store, nights, rng):
    for d in range(3):
        add(nights, rng, 10.0, day=d)
    per_second = seconds(rng, 10.0)
    lag = np.full(SECONDS, 2.0)
    per_second[10:16] *= 12            # the generator's event loop stalled: answers timed late
    lag[10:16] = 90.0
    stalled = add(nights, rng, 10.0, per_second=per_second, run_level=35.0, lag_ms=lag, day=3)
    s = p50(analyze_run(store, stalled, now=night(4)))
    assert s.vs_previous.rel_change > 2            # the whole run looks 3× slower…
    assert not s.vs_previous.significant           # …the seconds the generator vouched for do not
    assert abs(s.vs_previous.shift) < 0.2


def test_a_few_slow_seconds_do_not_make_a_regression(store, nights, rng):
    for d in range(3):
        add(nights, rng, 10.0, day=d)
    per_second = seconds(rng, 10.0)
    per_second[5:8] *= 20              # a three-second hiccup of the target inflates the whole-run p95
    hiccup = add(nights, rng, 10.0, per_second=per_second, run_level=30.0, day=3)
    s = p50(analyze_run(store, hiccup, now=night(4)))
    assert not s.vs_previous.significant and not s.vs_baseline.significant


def test_untrustworthy_nights_are_marked_shown_not_judged_and_skipped_as_references(store, nights, rng):
    first = add(nights, rng, 10.0, day=0)
    stalled = add(nights, rng, 10.0, scale=3.0, day=1, trustworthy=False)
    result = analyze_run(store, stalled, now=night(2))
    s = p50(result)
    assert not result.comparison.trusted and s.vs_previous.rel_change > 1.5 and not s.vs_previous.significant
    assert s.vs_previous.note.startswith("untrustworthy run: compared, not judged")
    assert all(g.passed for g in evaluate_gates(result))
    assert "untrustworthy run: generator CPU saturated" in result.comparison.headline()
    judged = analyze_run(store, stalled, now=night(2), settings=AnalyticsSettings(
        compare=CompareSettings(judge_untrusted=True)))
    assert p50(judged).vs_previous.regression
    assert "untrustworthy run" in next(g.detail for g in evaluate_gates(judged) if not g.passed)
    after = add(nights, rng, 10.0, day=2)
    result = analyze_run(store, after, now=night(3))
    s = p50(result)
    assert s.vs_previous.reference_run_id == first and not s.vs_previous.significant
    assert [(n.run_id, n.reason) for n in result.comparison.excluded_nights] == [
        (stalled, "untrustworthy load: generator CPU saturated")]
    assert result.comparison.nights == 2


def test_the_first_night_is_not_judged_and_says_so(store, nights, rng):
    only = add(nights, rng, 10.0, day=0)
    result = analyze_run(store, only, now=night(1))
    s = p95(result)
    assert s.vs_previous.method is Method.NONE and "nothing to compare with" in s.vs_previous.note
    assert result.comparison.headline() == "first night: nothing to compare with yet"
    assert [g.passed for g in evaluate_gates(result)] == [True]
    assert {m.method: (m.nights_needed, m.ready) for m in result.comparison.methods} == {
        Method.WITHIN_RUN: (2, False), Method.BETWEEN_NIGHTS: (3, False), Method.CHANGE_POINT: (6, False)}


def test_the_result_round_trips_as_json(store, nights, rng):
    add(nights, rng, 10.0, day=0)
    slow = add(nights, rng, 10.0, scale=3.0, day=1)
    result = analyze_run(store, slow, now=night(2))
    doc = result.comparison.model_dump(mode="json")
    from warehouse.analytics.comparison import RunComparison

    again = RunComparison.model_validate(doc)
    assert again == result.comparison and again.regressions
    assert result.summary()["comparison"]["series"][0]["vs_previous"]["reference"] == "previous"


def test_the_regressions_command_shows_the_latest_night_vs_last_night_and_baseline(store, nights, rng):
    import json

    from click.testing import CliRunner

    from flows.analytics_cli import regressions

    for d in range(2):
        analyze_run(store, add(nights, rng, 10.0, day=d), now=night(d + 1))
    slow = add(nights, rng, 10.0, scale=3.0, day=2)
    analyze_run(store, slow, now=night(3))
    runner = CliRunner()
    out = runner.invoke(regressions, ["--warehouse", str(store.path), "--since", "all"], terminal_width=160)
    assert out.exit_code == 0, out.output
    assert "the latest night vs last night / vs baseline" in out.output and "last night" in out.output
    assert "no regressions" not in out.output
    doc = json.loads(runner.invoke(regressions, ["--warehouse", str(store.path), "--since", "all", "--json",
                                                 "--metric", "p50_ms", "--endpoint", "_overall"]).output)
    assert {(r["reference"], r["run_id"], r["direction"]) for r in doc["latest_night"]} == {
        ("previous", slow, "regression"), ("baseline", slow, "regression")}


def test_a_lasting_regression_becomes_the_norm_after_the_policys_nights(store, nights, rng):
    settings = AnalyticsSettings(compare=CompareSettings(accept_regression_after=4))
    for d in range(2):
        add(nights, rng, 10.0, day=d)
    flagged = []
    for d in range(2, 10):
        run_id = add(nights, rng, 10.0, scale=3.0, day=d)
        s = p50(analyze_run(store, run_id, now=night(d + 1), settings=settings))
        flagged.append(s.vs_baseline.regression)
    # too few nights before the step for a change point; the comparisons keep flagging it until it
    # has lasted four nights, then it is the baseline
    assert flagged == [True, True, True, True, False, False, False, False]
