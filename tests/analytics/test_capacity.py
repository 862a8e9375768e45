"""Capacity planning: the USL fit recovers known parameters; a stress run gets its estimate stored."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from warehouse.analytics.capacity import CapacityError, estimate, fit_usl, load_levels
from warehouse.analytics.service import analyze_run

from .conftest import night

N = np.array([1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128], dtype=float)


def usl(n, lam, sigma, kappa):
    return lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))


@pytest.mark.parametrize("lam,sigma,kappa", [(100.0, 0.05, 0.0008), (40.0, 0.2, 0.0), (250.0, 0.01, 0.002)])
def test_the_fit_recovers_exact_parameters(lam, sigma, kappa):
    fit = fit_usl(N, usl(N, lam, sigma, kappa))
    assert fit.lam == pytest.approx(lam, rel=1e-4)
    assert fit.sigma == pytest.approx(sigma, abs=1e-5)
    assert fit.kappa == pytest.approx(kappa, abs=1e-7)
    assert fit.r_squared > 0.999999 and fit.mape < 1e-5
    if kappa:
        assert fit.peak_concurrency == pytest.approx(math.sqrt((1 - sigma) / kappa), rel=1e-3)
    else:
        assert math.isinf(fit.peak_concurrency) and fit.peak_throughput == pytest.approx(lam / sigma, rel=1e-3)


def test_the_fit_with_noise_reports_its_error():
    rng = np.random.default_rng(3)
    fits = [fit_usl(N, usl(N, 100, 0.05, 0.0008) * (1 + rng.normal(0, 0.02, len(N)))) for _ in range(20)]
    lam = np.array([f.lam for f in fits])
    kappa = np.array([f.kappa for f in fits])
    assert abs(lam.mean() - 100) < 3 and abs(kappa.mean() - 0.0008) < 0.0001
    covered = sum(abs(f.kappa - 0.0008) <= 2.5 * f.kappa_se for f in fits)
    assert covered >= 16  # the standard errors mean something
    assert all(0.005 < f.mape < 0.05 and f.rmse > 0 for f in fits)


def test_too_few_levels_is_an_error():
    with pytest.raises(CapacityError):
        fit_usl([4, 4, 8], [10, 11, 20])


def stress_series(levels=(2, 4, 8, 16, 32, 64, 96, 128), seconds=5):
    rows, second = [], 0
    for n in levels:
        x = usl(n, 50.0, 0.03, 0.0005)
        for _ in range(seconds):
            rows.append({"run_id": "", "shard": -1, "second": second, "endpoint": "_overall", "requests": int(x),
                         "errors": 0, "rps": x, "p50_ms": n / x * 500, "p95_ms": n / x * 1000 * 1.8,
                         "p99_ms": None, "in_flight": n, "target_rate": None, "vus": n})
            second += 1
    return rows


def test_load_levels_and_where_the_slo_breaks():
    levels = load_levels(pl.DataFrame(stress_series()))
    assert levels["concurrency"].to_list() == [2, 4, 8, 16, 32, 64, 96, 128] and set(levels["seconds"]) == {5}
    est = estimate(levels, slo_p95_ms=300, slo_mean_ms=1500)
    # p95 = 1.8·N/X(N): 177 ms at 64, 303 ms at 96
    assert est.slo_break_source == "observed" and est.slo_break_concurrency == 96
    assert est.slo_break_throughput == pytest.approx(usl(96, 50.0, 0.03, 0.0005))
    assert est.fit.lam == pytest.approx(50, rel=0.01)
    model = estimate(levels, slo_p95_ms=None, slo_mean_ms=5000)
    n = model.slo_break_concurrency
    assert model.slo_break_source == "usl" and n / model.fit.throughput(n) * 1000 == pytest.approx(5000, rel=0.01)


def test_a_stress_run_gets_its_capacity_estimate(store, nights):
    run_id = nights.add({"_overall": 900.0}, test_type="stress")
    store.write_rows({"load_timeseries": [{**r, "run_id": run_id} for r in stress_series()]})
    result = analyze_run(store, run_id, now=night(1))
    [row] = store.query("SELECT * FROM capacity_estimates WHERE run_id = ?", [run_id]).to_dicts()
    assert row["usl_lambda"] == pytest.approx(50, rel=0.01) and row["usl_kappa"] == pytest.approx(0.0005, rel=0.05)
    assert row["peak_concurrency"] == pytest.approx(math.sqrt(0.97 / 0.0005), rel=0.05)
    # seed 001's p95 limit (3 s) is never crossed: the model's mean response time (Little) says where 1.5 s is
    assert row["slo_break_source"] == "usl" and row["slo_metric"] == "mean_ms" and row["r_squared"] > 0.999
    assert row["slo_break_concurrency"] > 128
    assert result.capacity[0]["points"] == 8
    load = nights.add({"_overall": 900.0})
    assert analyze_run(store, load, now=night(2)).capacity == []  # a plain load test is not a capacity test
