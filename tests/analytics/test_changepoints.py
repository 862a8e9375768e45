"""The change-point detector on series with known answers."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from warehouse.analytics import change_points, detect
from warehouse.analytics.changepoints import DetectorConfig, detect_many
from warehouse.analytics.maxt import pvalue, simulate, threshold

ROOT = Path(__file__).resolve().parents[2]


def rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_clean_steps_are_found_where_they_begin():
    assert change_points([100.0] * 30 + [110.0] * 30) == [30]
    assert change_points([3.0] * 10 + [2.0] * 10 + [3.0] * 10) == [10, 20]
    values = list(100 * (1 + rng().normal(0, 0.02, 150)))
    values[60:] = [v * 1.10 for v in values[60:]]
    values[110:] = [v * 0.85 for v in values[110:]]
    assert change_points(values) == [60, 110]


def test_noise_alone_gives_no_change():
    r = rng(1)
    for sigma in (0.01, 0.05, 0.2):
        for _ in range(10):
            assert change_points(list(100 * (1 + r.normal(0, sigma, 365)))) == []
    assert change_points(list(r.standard_t(3, 300) + 50)) == []  # heavy tails
    assert change_points([5.0] * 40) == []


def test_a_single_outlier_night_is_never_a_regime():
    r = rng(2)
    for position in (0, 10, 60, 118, 119):
        values = list(100 * (1 + r.normal(0, 0.02, 120)))
        values[position] = 400.0
        assert change_points(values) == [], position
    values = list(100 * (1 + r.normal(0, 0.02, 120)))
    values[50] = values[51] = 350.0  # two wild nights in a row
    assert change_points(values) == []


def test_bimodal_machines_are_not_regimes_but_a_step_on_them_is():
    r = rng(3)
    for p in (0.3, 0.5, 0.7):
        machine_b = r.random(200) < p
        values = 100 * (1 + 0.12 * machine_b) * (1 + r.normal(0, 0.01, 200))
        assert change_points(list(values)) == [], p
    machine_b = r.random(200) < 0.5
    values = 100 * (1 + 0.12 * machine_b) * (1 + r.normal(0, 0.01, 200))
    values[120:] *= 1.15
    found = change_points(list(values))
    assert len(found) == 1 and abs(found[0] - 120) <= 3


def test_a_weekly_pattern_is_removed_and_a_step_still_found():
    r = rng(4)
    day = np.arange(182)
    weekly = 100 * (1 + 0.15 * (day % 7 >= 5)) * (1 + r.normal(0, 0.02, 182))
    assert change_points(list(weekly)) == []
    sine = 100 * (1 + 0.08 * np.sin(2 * np.pi * day / 7)) * (1 + r.normal(0, 0.02, 182))
    assert change_points(list(sine)) == []
    stepped = weekly.copy()
    stepped[91:] *= 1.10
    assert change_points(list(stepped)) == [91]


def test_slow_drift_alone_raises_no_alarm_and_a_step_on_it_is_found():
    r = rng(5)
    for total in (0.1, 0.3, -0.2):
        drift = 100 * (1 + total * np.arange(365) / 365) * (1 + r.normal(0, 0.02, 365))
        assert change_points(list(drift)) == [], total
    drift = 100 * (1 + 0.2 * np.arange(200) / 200) * (1 + r.normal(0, 0.02, 200))
    drift[140:] *= 1.12
    found = change_points(list(drift))
    assert len(found) == 1 and abs(found[0] - 140) <= 2


def test_tiny_shifts_stay_below_the_floor():
    r = rng(6)
    values = 100 * (1 + r.normal(0, 0.002, 200))
    values[100:] *= 1.015  # highly significant, but 1.5 %
    assert change_points(list(values)) == []
    assert change_points(list(values), min_rel_change=0.01) == [100]


def test_details_of_a_change():
    cp = detect([200.0] * 20 + [230.0] * 20)[0]
    assert cp.index == 20 and cp.before == pytest.approx(200) and cp.after == pytest.approx(230)
    assert cp.rel_change == pytest.approx(0.15) and cp.abs_change == pytest.approx(30)
    assert cp.p_value < 1e-6 and cp.t_stat > 0 and not cp.drift
    zero = detect([0.0] * 20 + [0.05] * 20)
    assert [c.index for c in zero] == [20] and zero[0].rel_change == float("inf")


def test_missing_nights_keep_their_indices_and_a_new_regime_needs_three_nights():
    values: list[float | None] = [100.0] * 25 + [130.0] * 25
    values[10] = None
    values[30] = float("nan")
    assert change_points(values) == [25]
    tail = [100.0 + (i % 3) for i in range(60)]
    assert change_points(tail + [140.0, 141.0]) == []
    assert change_points(tail + [140.0, 141.0, 139.0]) == [60]
    assert change_points([]) == [] and change_points([1.0, 2.0]) == []


def test_the_batch_gives_what_one_series_at_a_time_gives():
    r = rng(8)
    matrix = 100 * (1 + r.normal(0, 0.03, (60, 150)))
    matrix[::5, 70:] *= 1.1
    matrix[3, 40] = np.nan
    matrix[7] *= 1 + 0.002 * np.arange(150)
    assert detect_many(matrix) == [detect(list(row)) for row in matrix]


def test_the_max_t_null_table_matches_a_fresh_simulation():
    q50, q90, q99, _ = simulate(50, reps=20_000, seed=1)
    assert threshold(0.1, 50) == pytest.approx(q90, abs=0.05)
    assert threshold(0.01, 50) == pytest.approx(q99, abs=0.12)
    assert pvalue(q90, 50) == pytest.approx(0.1, rel=0.1)
    assert pvalue(10.0, 200) < 1e-10 and pvalue(0.0, 200) == 1.0


def test_config_reaches_the_detector():
    values = [100.0] * 30 + [110.0] * 30
    assert change_points(values, config=DetectorConfig(min_rel_change=0.2)) == []
    assert change_points(values, min_segment=40) == []


def test_the_detector_beats_otava_on_labeled_series():
    otava = pytest.importorskip("otava.analysis")
    from bench.analytics_changepoints import evaluate, generate, otava_detector

    data = [d for d in generate(n_series=2, seed=23) if d.step is None or d.step >= 0.05]
    ours = evaluate(change_points, data)
    theirs = evaluate(otava_detector(), data)
    assert otava is not None
    assert ours["step:>=0.05"].f1 > theirs["step:>=0.05"].f1
    assert ours["noise:all"].fp <= theirs["noise:all"].fp


def test_the_analytics_core_touches_no_database():
    core = ROOT / "warehouse" / "analytics"
    for path in core.glob("*.py"):
        if path.name == "service.py":
            continue
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(n.split(".")[0] == "duckdb" or n == "warehouse.store" for n in names), path.name
    pure = {"changepoints.py", "maxt.py", "segmentation.py"}
    for name in pure:
        tree = ast.parse((core / name).read_text())
        tops = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        tops |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
                 and n.level == 0}
        assert tops <= {"numpy", "math", "dataclasses", "collections", "typing", "warehouse", "__future__"}, name
