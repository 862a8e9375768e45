"""Baselines: established, updated with a reason, their history kept; compared with the newest night."""

from __future__ import annotations

import pytest

from warehouse.analytics.baselines import BaselinePolicy
from warehouse.analytics.service import AnalyticsSettings, analyze

from .conftest import night


def versions(store, endpoint="_overall", metric="p95_ms"):
    return store.query("SELECT * FROM baselines WHERE endpoint = ? AND metric = ? ORDER BY version",
                       [endpoint, metric]).to_dicts()


def test_a_baseline_is_established_then_refined(store, nights, noise):
    values = noise(40)
    nights.series({"_overall": values[:6]})
    analyze(store, now=night(7))
    [v1] = versions(store)
    assert v1["reason"] == "established" and v1["nights"] == 6 and v1["valid_to"] is None
    assert v1["band_lower"] < v1["center"] < v1["band_upper"]
    assert v1["center"] == pytest.approx(float(sorted(values[:6])[2] + sorted(values[:6])[3]) / 2)
    nights.series({"_overall": values[6:]})
    analyze(store, now=night(41))
    history = versions(store)
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["valid_to"] is not None and history[1]["valid_to"] is None
    assert history[1]["reason"] == "refined with 30 nights" and history[1]["nights"] == 30


def test_an_improvement_moves_the_baseline_and_keeps_the_old_one(store, nights, noise):
    nights.series({"_overall": noise(30, 200)})
    analyze(store, now=night(31))
    nights.series({"_overall": noise(12, 150)})  # 25 % faster
    analyze(store, now=night(43))
    history = versions(store)
    assert len(history) == 2
    assert history[0]["center"] == pytest.approx(200, rel=0.03) and history[0]["valid_to"] is not None
    assert history[1]["center"] == pytest.approx(150, rel=0.03)
    assert history[1]["reason"].startswith("improvement of -2") and "since 2025-04-02" in history[1]["reason"]
    view = store.query("SELECT * FROM performance_baselines").to_dicts()
    assert view[0]["baseline_p95_response_time_ms"] == pytest.approx(150, rel=0.03)
    assert view[0]["baseline_avg_response_time_ms"] == pytest.approx(90, rel=0.03)


def test_a_regression_is_not_learned_until_it_has_lasted(store, nights, noise):
    settings = AnalyticsSettings(baseline=BaselinePolicy(accept_regression_after=10))
    nights.series({"_overall": noise(30, 100)})
    analyze(store, settings=settings, now=night(31))
    regressed = noise(12, 130)
    done = 0
    for upto in (5, 9, 12):  # the regression's nights so far
        nights.series({"_overall": regressed[done:upto]})
        done = upto
        out = analyze(store, settings=settings, now=night(31 + upto))
        current = out.comparison.filter((out.comparison["endpoint"] == "_overall")
                                        & (out.comparison["metric"] == "p95_ms")).to_dicts()[0]
        if upto < 10:
            assert len(versions(store)) == 1 and current["status"] == "regressed", upto
    history = versions(store)
    assert len(history) == 2 and "accepted after 10 nights" in history[1]["reason"]
    assert history[1]["center"] == pytest.approx(130, rel=0.03)


def test_a_first_baseline_is_not_learned_from_a_fresh_regression(store, nights, noise):
    nights.series({"_overall": list(noise(20, 100)) + list(noise(3, 140))})
    analyze(store, now=night(24))
    [v1] = versions(store)
    assert v1["center"] == pytest.approx(100, rel=0.03)
    assert v1["reason"] == "established (from the regime before the newest change)"


def test_the_newest_night_against_the_band(store, nights, noise):
    base = noise(20, 100)
    nights.series({"_overall": base, "a": base, "b": base})
    analyze(store, now=night(21))
    nights.add({"_overall": 100.0, "a": 160.0, "b": 60.0})
    out = analyze(store, now=night(22))
    status = {r["endpoint"]: r["status"] for r in out.comparison.filter(out.comparison["metric"] == "p95_ms").to_dicts()}
    assert status == {"_overall": "within", "a": "regressed", "b": "improved"}
    rps = {r["endpoint"]: r["status"] for r in out.comparison.filter(out.comparison["metric"] == "rps").to_dicts()}
    assert set(rps.values()) == {"within"}
