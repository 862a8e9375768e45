"""The typed verdict's own words: what a headline, a gate and Slack quote (pinned)."""

from __future__ import annotations

from datetime import UTC, datetime

from warehouse.analytics.comparison import (
    ChangePointNote,
    Comparison,
    Method,
    MethodStatus,
    RunComparison,
    SeriesVerdict,
    method_needs,
)

NIGHT = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)


def verdict(prev: Comparison, base: Comparison, **kw) -> SeriesVerdict:
    return SeriesVerdict(campaign="demo", environment="dev", test_type="load", endpoint="_overall", metric="p95_ms",
                         unit="ms", better="lower", run_id="r3", night=NIGHT, value=36.6, vs_previous=prev,
                         vs_baseline=base, **kw)


SLOWER = Comparison(reference="previous", method=Method.WITHIN_RUN, value=36.6, reference_value=6.2,
                    rel_change=36.6 / 6.2 - 1, p_value=0.0004, significant=True, direction="regression",
                    nights_available=3, nights_needed=2)
BASE = Comparison(reference="baseline", method=Method.BETWEEN_NIGHTS, value=36.6, reference_value=8.0,
                  reference_nights=2, rel_change=36.6 / 8 - 1, p_value=0.004, significant=True,
                  direction="regression", nights_available=3, nights_needed=3)


def test_a_series_describes_both_comparisons():
    s = verdict(SLOWER, BASE)
    assert s.describe() == ("_overall p95 36.6 ms: +490% vs last night (p=0.0004, within-run); "
                            "+358% vs baseline (p=0.004, between-nights)")
    quiet = Comparison(reference="previous", method=Method.BETWEEN_NIGHTS, rel_change=0.04, p_value=0.4)
    assert quiet.describe() == "+4% vs last night (p=0.4, between-nights, not significant)"
    first = Comparison(reference="baseline", note="no earlier night")
    assert first.describe() == "vs baseline: no earlier night"


def test_the_headline_names_the_worst_regression_and_the_gate_fails():
    run = RunComparison(campaign="demo", environment="dev", test_type="load", run_id="r3", nights=3,
                        series=[verdict(SLOWER, BASE)],
                        methods=[MethodStatus(method=m, nights_needed=n, nights_available=3)
                                 for m, n in method_needs(3).items()])
    assert run.headline().startswith("_overall p95 36.6 ms: +490% vs last night")
    [gate] = run.gates()
    assert (gate.name, gate.passed, gate.observed, gate.limit, gate.endpoint) == (
        "regression p95", False, 36.6, 6.2, "_overall")
    assert [(m.method.value, m.nights_needed, m.ready) for m in run.methods] == [
        ("within-run", 2, True), ("between-nights", 3, True), ("change-point", 6, False)]


def test_a_quiet_night_and_a_fresh_change_point():
    quiet = Comparison(reference="previous", method=Method.BETWEEN_NIGHTS, rel_change=0.01, p_value=0.6)
    cp = ChangePointNote(run_id="abcdef123456", night=NIGHT, direction="regression", before_value=200.0,
                         after_value=260.0, rel_change=0.3, p_value=1e-6, nights_after=4, fresh=True)
    run = RunComparison(campaign="demo", environment="dev", test_type="load", run_id="r9", nights=9,
                        series=[verdict(quiet, quiet.model_copy(update={"reference": "baseline"}),
                                        change_point=cp, judged_by=Method.CHANGE_POINT)],
                        methods=[MethodStatus(method=m, nights_needed=n, nights_available=9)
                                 for m, n in method_needs(3).items()])
    [gate] = run.gates()
    assert not gate.passed and "regression +30.0% since 2026-03-04 (run abcdef12, 4 nights, p=<0.0001, " \
                               "change-point)" in gate.detail
    base = quiet.model_copy(update={"reference": "baseline"})
    calm = RunComparison(campaign="demo", environment="dev", test_type="load", run_id="r9", nights=9,
                         methods=run.methods, series=[verdict(quiet, base)])
    assert calm.headline() == ("no significant regression vs last night or baseline "
                               "(within-run, between-nights, change-point)")
    assert [g.passed for g in calm.gates()] == [True]
    untrusted = calm.model_copy(update={"trusted": False, "untrusted_reasons": ["generator event loop stalled"]})
    assert untrusted.headline().endswith("[untrustworthy run: generator event loop stalled]")
