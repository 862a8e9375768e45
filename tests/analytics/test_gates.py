"""A run's analysis: fresh change points, the night against last night and the baseline, thresholds and
targets decide its gates; untrustworthy runs are marked, never silently dropped."""

from __future__ import annotations

import pytest

from campaigns.model import Target, Thresholds
from tasks.base import Gate, StageResult
from warehouse.analytics.service import analyze, analyze_run, evaluate_gates

from .conftest import night


def failing(gates: list[Gate]) -> list[Gate]:
    return [g for g in gates if not g.passed]


def test_a_fresh_regression_fails_the_run_and_names_where_it_began(store, nights, noise):
    nights.series({"_overall": noise(40, 200), "checkout": noise(40, 300)})
    regressed = nights.series({"_overall": noise(4, 200), "checkout": noise(4, 390)})  # checkout +30 %
    result = analyze_run(store, regressed[-1], now=night(45))
    gates = evaluate_gates(result)
    bad = failing(gates)
    assert {(g.name, g.endpoint) for g in bad} >= {("regression p95", "checkout")}
    assert all(g.stage == "analysis" for g in gates)
    p95 = next(r for r in result.fresh_regressions if r["metric"] == "p95_ms")
    assert p95["run_id"] == regressed[0] and p95["direction"] == "regression"
    assert p95["rel_change"] == pytest.approx(0.30, abs=0.04) and p95["p_value"] < 0.003
    gate = next(g for g in bad if g.name == "regression p95" and g.endpoint == "checkout")
    assert f"run {regressed[0][:8]}" in gate.detail and "+3" in gate.detail and "change-point" in gate.detail
    verdict = result.comparison.series_for("checkout", "p95_ms")
    assert verdict.judged_by.value == "change-point" and verdict.regression
    stored = store.query("SELECT * FROM change_points WHERE endpoint = 'checkout' AND metric = 'p95_ms'").to_dicts()
    assert [(r["run_id"], r["direction"], r["status"], r["detected_run_id"]) for r in stored] == [
        (regressed[0], "regression", "open", regressed[-1])]
    assert not StageResult("analysis", "failed", gates=gates).gates_passed


def test_noise_passes_and_an_old_regression_is_no_longer_fresh(store, nights, noise):
    ids = nights.series({"_overall": list(noise(40, 200)) + list(noise(20, 260))})
    gates = evaluate_gates(analyze_run(store, ids[-1], now=night(61)))
    assert failing(gates) == [] and [g.name for g in gates] == ["no regression vs last night or baseline"]
    listed = store.query("SELECT run_id, direction FROM change_points WHERE metric = 'p95_ms'").to_dicts()
    assert listed == [{"run_id": ids[40], "direction": "regression"}]


def test_an_improvement_never_fails_a_run(store, nights, noise):
    ids = nights.series({"_overall": list(noise(40, 200)) + list(noise(4, 140))})
    result = analyze_run(store, ids[-1], now=night(45))
    assert failing(evaluate_gates(result)) == []
    assert {r["direction"] for r in result.change_points} == {"improvement"}


def test_a_big_jump_fails_on_the_first_night_a_small_one_does_not(store, nights, noise):
    nights.series({"_overall": noise(30, 200)})
    small = nights.add({"_overall": 206.0})
    assert failing(evaluate_gates(analyze_run(store, small, now=night(31)))) == []
    big = nights.add({"_overall": 300.0})
    result = analyze_run(store, big, now=night(32))
    bad = failing(evaluate_gates(result))
    assert {g.name for g in bad} >= {"regression p95"}
    p95 = result.comparison.series_for("_overall", "p95_ms")
    assert p95.vs_baseline.regression and p95.vs_baseline.reference_nights == 30
    assert p95.vs_baseline.method.value == "between-nights" and p95.vs_baseline.p_within is None  # no seconds stored
    assert "vs baseline" in next(g for g in bad if g.name == "regression p95").detail


def test_untrustworthy_runs_are_marked_not_learned_from_nor_compared_with(store, nights, noise):
    ids = nights.series({"_overall": noise(30, 200)})
    spikes = [nights.add({"_overall": 600.0}, trustworthy=False),
              nights.add({"_overall": 600.0}, excluded="load generator swapped mid-run"),
              nights.add({"_overall": 600.0}, status="error")]
    nights.add({"_overall": 600.0})
    nights.series({"_overall": noise(10, 200)})
    out = analyze(store, now=night(50))
    used = set(out.nightly["run_id"].unique())
    assert not used & set(spikes) and set(ids) <= used
    assert out.change_points.is_empty()
    marked = out.history.filter(~out.history["trusted"]).select("run_id", "reason").unique().to_dicts()
    assert {r["run_id"]: r["reason"] for r in marked} == {
        spikes[0]: "untrustworthy load: generator CPU saturated",
        spikes[1]: "excluded by hand: load generator swapped mid-run", spikes[2]: "run ended error"}
    trend = out.trends.filter((out.trends["endpoint"] == "_overall") & (out.trends["metric"] == "p95_ms"))
    assert trend["untrusted_nights"][0] == 3 and trend["nights"][0] == 41
    result = analyze_run(store, spikes[1], now=night(50))
    assert result.excluded == "excluded by hand: load generator swapped mid-run" and result.comparison is None
    assert [(g.name, g.passed) for g in evaluate_gates(result)] == [("run left out of the analysis", True)]
    # an untrustworthy run is compared and marked, not judged (by default), never a reference
    untrusted = analyze_run(store, spikes[0], now=night(50))
    assert untrusted.comparison is not None and not untrusted.comparison.trusted
    assert untrusted.comparison.untrusted_reasons == ["generator CPU saturated"]
    assert "untrustworthy run" in untrusted.comparison.headline()
    p95 = untrusted.comparison.series_for("_overall", "p95_ms").vs_baseline
    assert p95.rel_change > 1.5 and not p95.significant and "not judged" in p95.note
    after = analyze_run(store, ids[-1], now=night(50)).comparison
    assert after.previous_run_id == ids[-2]
    latest = analyze_run(store, nights.run_ids[-1], now=night(50)).comparison
    assert {n.run_id: n.reason for n in latest.excluded_nights} == {
        spikes[0]: "untrustworthy load: generator CPU saturated",
        spikes[1]: "excluded by hand: load generator swapped mid-run", spikes[2]: "run ended error"}



def test_excluding_the_nights_of_a_change_makes_it_gone(store, nights, noise):
    nights.series({"_overall": noise(30, 200)})
    bad = nights.series({"_overall": noise(4, 300)})
    analyze(store, now=night(35))
    assert store.fetchall("SELECT status FROM change_points WHERE metric = 'p95_ms'") == [("open",)]
    for run_id in bad:
        store.exclude_run(run_id, "a misconfigured proxy added latency")
    analyze(store, now=night(36))
    assert store.fetchall("SELECT status FROM change_points WHERE metric = 'p95_ms'") == [("gone",)]


def test_thresholds_and_targets_gate_the_run(store, nights):
    run_id = nights.add({"_overall": 3500.0, "login": 900.0, "search": 100.0}, error_rate=0.02, rps=40.0)
    result = analyze_run(store, run_id, now=night(1))
    gates = evaluate_gates(result, thresholds=Thresholds(),
                           targets={"login": Target(p95_ms=800, error_rate=0.05), "search": Target(p95_ms=800)})
    verdict = {(g.name, g.endpoint): g.passed for g in gates if g.name.startswith(("threshold", "target"))}
    assert verdict == {
        ("threshold mean_ms <= 1500.0 ms", "_overall"): False,  # 3500 × 0.6
        ("threshold p95_ms <= 3000.0 ms", "_overall"): False,
        ("threshold error_rate <= 1.00%", "_overall"): False,
        ("threshold rps >= 50.0 req/s", "_overall"): False,
        ("target p95_ms <= 800.0 ms", "login"): False,
        ("target error_rate <= 5.00%", "login"): True,
        ("target p95_ms <= 800.0 ms", "search"): True,
    }
    fine = nights.add({"_overall": 800.0}, error_rate=0.001, rps=120.0)
    gates = evaluate_gates(analyze_run(store, fine, now=night(2)), thresholds=Thresholds())
    assert failing(gates) == []
