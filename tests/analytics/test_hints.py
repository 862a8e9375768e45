"""Bottleneck hints: given only when the signals and their correlation with latency support them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from warehouse.analytics.hints import bottleneck_hints, signals
from warehouse.analytics.service import analyze_run

from .conftest import night

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def samples(pool_in_use, cpu_rate, rss_mb, in_flight, step=2.0):
    rows = []
    cpu = 0.0
    for i, (pool, c, rss, q) in enumerate(zip(pool_in_use, cpu_rate, rss_mb, in_flight)):
        cpu += c * step
        at = T0 + timedelta(seconds=i * step)
        for family, kind, name, value in (
                ("db_pool_in_use", "gauge", "db_pool_in_use", pool), ("db_pool_size", "gauge", "db_pool_size", 4.0),
                ("process_cpu_seconds", "counter", "process_cpu_seconds_total", cpu),
                ("process_resident_memory_bytes", "gauge", "process_resident_memory_bytes", rss * 2 ** 20),
                ("http_requests_in_flight", "gauge", "http_requests_in_flight", q)):
            rows.append({"run_id": "r", "source": "http://127.0.0.1/metrics", "scraped_at": at, "offset_s": i * step,
                         "family": family, "kind": kind, "name": name, "labels": "{}", "series": name,
                         "value": float(value)})
    return pl.DataFrame(rows)


def load(p95, step=2):
    """Per-second load rows: the seconds (previous scrape, this scrape] carry that interval's p95."""
    rows = [{"second": 0, "rps": 100.0, "p95_ms": float(p95[0]), "errors": 0, "requests": 100}]
    for i, v in enumerate(p95[1:], start=1):
        rows += [{"second": s, "rps": 100.0, "p95_ms": float(v), "errors": 0, "requests": 100}
                 for s in range((i - 1) * step + 1, i * step + 1)]
    return pl.DataFrame(rows)


def test_a_saturated_pool_that_latency_follows_is_a_high_hint():
    n = 20
    ramp = np.linspace(0, 1, n)
    pool = np.minimum(4, 1 + 5 * ramp)
    p95 = 50 + 400 * np.maximum(0, ramp - 0.5)
    found = bottleneck_hints(samples(pool, 0.3 + 0.0 * ramp, [80.0] * n, 2 + 30 * np.maximum(0, ramp - 0.5)), load(p95))
    by_key = {h.key: h for h in found}
    assert set(by_key) == {"db-pool-saturation", "queueing"}
    pool_hint = by_key["db-pool-saturation"]
    assert pool_hint.severity == "high" and pool_hint.evidence["max"] == 1.0
    assert pool_hint.evidence["share_at_90pct"] >= 0.2 and pool_hint.evidence["spearman_p95"] >= 0.5
    assert "pool" in pool_hint.recommendation


def test_no_hint_without_evidence():
    rng = np.random.default_rng(1)
    n = 20
    quiet = samples(rng.uniform(0, 1, n), rng.uniform(0.05, 0.2, n), 80 + rng.normal(0, 0.5, n), rng.integers(0, 3, n))
    assert bottleneck_hints(quiet, load(50 + rng.normal(0, 5, n))) == []
    assert bottleneck_hints(quiet.head(5 * 4), load([50.0] * 4)) == []  # too few intervals to say anything


def test_cpu_at_its_limit_and_memory_growth():
    n = 20
    ramp = np.linspace(0, 1, n)
    cpu = np.minimum(1.0, 0.3 + 1.2 * ramp)
    found = {h.key: h for h in bottleneck_hints(samples([1.0] * n, cpu, 100 + 60 * ramp, [2] * n), load(50 + 300 * ramp))}
    assert set(found) == {"cpu-saturation", "memory-growth"}
    assert found["cpu-saturation"].evidence["limit_source"].startswith("one core")
    assert found["memory-growth"].evidence["growth_mib"] > 50
    explicit = bottleneck_hints(samples([1.0] * n, cpu, [100.0] * n, [2] * n), load(50 + 300 * ramp), cpu_limit_cores=4)
    assert explicit == []  # one core of four is not saturation


def test_signals_from_samples():
    sig = signals(samples([1, 2, 3], [0.5, 0.5, 0.5], [10, 10, 10], [0, 1, 2]))
    assert set(sig.columns) == {"offset_s", "cpu_cores", "rss_mib", "pool_util", "queue"}
    assert sig["pool_util"].to_list() == [0.25, 0.5, 0.75]
    assert sig["cpu_cores"].drop_nulls().to_list() == [0.5, 0.5]


def test_hints_are_stored_for_the_run(store, nights):
    run_id = nights.add({"_overall": 200.0})
    n = 20
    ramp = np.linspace(0, 1, n)
    rows = samples(np.minimum(4, 1 + 5 * ramp), [0.2] * n, [80.0] * n, [2] * n).with_columns(
        run_id=pl.lit(run_id), labels=pl.lit(None, dtype=pl.String))
    store.write_rows({"metric_samples": rows.to_dicts(),
                      "load_timeseries": [{"run_id": run_id, "shard": -1, "endpoint": "_overall", **r}
                                          for r in load(50 + 400 * np.maximum(0, ramp - 0.5)).to_dicts()]})
    result = analyze_run(store, run_id, now=night(1))
    assert [h["key"] for h in result.hints] == ["db-pool-saturation"]
    stored = store.query("SELECT key, severity, evidence FROM bottleneck_hints WHERE run_id = ?", [run_id]).to_dicts()
    assert stored[0]["key"] == "db-pool-saturation" and '"spearman_p95"' in stored[0]["evidence"]
