"""Trends: the definitions, the forecast, and the trends stored by an analysis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from campaigns.loader import parse_campaign
from warehouse.analytics.service import analyze, settings_for
from warehouse.analytics.trends import compute_trends, limits_frame, rolling_medians

from .conftest import night


def frame(values: list[float], metric: str = "p95_ms", endpoint: str = "_overall", step_days: float = 1.0):
    return pl.DataFrame({
        "campaign": "c", "environment": "dev", "test_type": "load", "endpoint": endpoint, "metric": metric,
        "run_id": [f"r{i:03d}" for i in range(len(values))],
        "night": [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=i * step_days) for i in range(len(values))],
        "value": values})


def test_changes_against_the_nights_before_and_rolling_medians():
    values = [100.0] * 30 + [110.0] * 6 + [121.0]
    row = compute_trends(frame(values)).to_dicts()[0]
    assert row["value"] == 121.0 and row["nights"] == 37
    assert row["median_7"] == 110.0  # six 110s and the latest
    assert row["change_7"] == pytest.approx(121 / 110 - 1)  # against the 7 nights before: 100 + six 110s
    assert row["change_30"] == pytest.approx(121 / 100 - 1)
    rolled = rolling_medians(frame(values))
    assert rolled["median_7"][-1] == 110.0 and rolled["median_30"][29] == 100.0


def test_forecast_of_the_threshold_crossing_at_the_current_slope():
    values = [1000.0 + 20 * i for i in range(60)]  # +20 ms a night towards 3000 ms
    row = compute_trends(frame(values), limits_frame({"p95_ms": 3000})).to_dicts()[0]
    assert row["slope_per_night"] == pytest.approx(20.0)
    assert row["nights_to_threshold"] == pytest.approx((3000 - row["median_7"]) / 20)
    assert row["forecast_crossing"] == row["night"] + timedelta(days=row["nights_to_threshold"])
    half_daily = compute_trends(frame(values, step_days=0.5), limits_frame({"p95_ms": 3000})).to_dicts()[0]
    assert half_daily["forecast_crossing"] == half_daily["night"] + timedelta(days=row["nights_to_threshold"] / 2)


def test_no_forecast_without_a_trend_the_bad_way_and_zero_when_past_it():
    flat = [1000.0 + (5 if i % 2 else -5) for i in range(40)]
    assert compute_trends(frame(flat), limits_frame({"p95_ms": 3000}))["nights_to_threshold"][0] is None
    better = [2000.0 - 10 * i for i in range(40)]
    assert compute_trends(frame(better), limits_frame({"p95_ms": 3000}))["nights_to_threshold"][0] is None
    past = [3500.0 + i for i in range(40)]
    assert compute_trends(frame(past), limits_frame({"p95_ms": 3000}))["nights_to_threshold"][0] == 0.0
    falling_rps = [100.0 - i for i in range(40)]  # throughput: the bad way is down, to the 50 rps floor
    row = compute_trends(frame(falling_rps, metric="rps"), limits_frame({"rps": 50})).to_dicts()[0]
    assert row["nights_to_threshold"] == pytest.approx(row["median_7"] - 50)


def test_endpoint_limits_override_the_metric_limit():
    both = pl.concat([frame([100.0 + i for i in range(20)], endpoint="a"),
                      frame([100.0 + i for i in range(20)], endpoint="b")])
    out = compute_trends(both, limits_frame({"p95_ms": 3000}, {("b", "p95_ms"): 150})).sort("endpoint")
    assert out["threshold"].to_list() == [3000.0, 150.0]


CAMPAIGN = """
version: 1
campaign: shop
team: t
environments: {staging: {kind: staging, base_url: "http://127.0.0.1:9"}}
endpoints: [{name: list-products, path: /p, domain: shop}]
targets: {shop: {p95_ms: 150, min_rps: 20}}
load:
  rate: 10
  duration: 10s
  thresholds: ["p(95)<3000", "p(95)<5000", "p(99){endpoint:list-products}<900", "rps>=40", "p(90)<100"]
"""


def limits(store, endpoint):
    return {m: t for m, t in store.fetchall("SELECT metric, threshold FROM trends WHERE endpoint = ?", [endpoint])}


def test_an_analysis_stores_one_trend_per_series_with_the_campaigns_own_gates(store, nights):
    nights.add_many([{"_overall": 1000.0 + 25 * i, "list-products": 200.0} for i in range(40)])
    analyze(store, now=night(41), settings=settings_for(parse_campaign(CAMPAIGN), "staging"))
    rows = store.query("SELECT * FROM trends ORDER BY endpoint, metric").to_dicts()
    assert len(rows) == 2 * 6
    p95 = next(r for r in rows if r["endpoint"] == "_overall" and r["metric"] == "p95_ms")
    assert p95["threshold"] == 3000 and p95["slope_per_night"] == pytest.approx(25)  # the stricter of two
    assert p95["nights_to_threshold"] > 0 and p95["forecast_crossing"] is not None
    flat = next(r for r in rows if r["endpoint"] == "list-products" and r["metric"] == "p95_ms")
    assert flat["nights_to_threshold"] is None and flat["change_7"] == 0
    # the load thresholds are the gates: whole-run rules on _overall, filtered ones on their endpoint,
    # the campaign-wide rps minimum never on an endpoint, p(90) followed by no series
    assert {k: v for k, v in limits(store, "_overall").items() if v is not None} == {"p95_ms": 3000, "rps": 40}
    assert {k: v for k, v in limits(store, "list-products").items() if v is not None} == {"p99_ms": 900}
    # an analysis without a campaign (the CLI's --refresh) keeps the thresholds the campaign's stored
    analyze(store, now=night(42))
    assert limits(store, "_overall")["p95_ms"] == 3000 and limits(store, "list-products")["p99_ms"] == 900


def test_without_load_thresholds_the_campaign_thresholds_and_targets_are_the_limits(store, nights):
    text = CAMPAIGN.split("load:")[0]
    nights.add_many([{"_overall": 100.0, "list-products": 100.0} for _ in range(8)])
    analyze(store, now=night(9), settings=settings_for(parse_campaign(text), "staging"))
    assert {k: v for k, v in limits(store, "_overall").items() if v is not None} == {
        "mean_ms": 1500, "p95_ms": 3000, "error_rate": 0.01, "rps": 50}
    assert {k: v for k, v in limits(store, "list-products").items() if v is not None} == {"p95_ms": 150, "rps": 20}
