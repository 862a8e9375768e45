"""``perfcampaign trends`` / ``regressions`` / ``exclude`` on a real warehouse file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from flows.analytics_cli import exclude, parse_since, regressions, trends, trends_table
from warehouse.analytics.service import AnalyticsSettings, analyze

from .conftest import night

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden" / "trends_table.txt"


#: the campaign's gates, as ``settings_for`` reads them from ``load.thresholds: ["p(95)<300", "rps>=50"]``
GATES = AnalyticsSettings(endpoint_limits={("_overall", "p95_ms"): 300.0, ("_overall", "rps"): 50.0})


def filled(store, nights, noise):
    nights.series({"_overall": list(noise(40, 200)) + list(noise(5, 260)), "search": noise(45, 80)})
    analyze(store, now=night(46), settings=GATES)
    return nights.run_ids


def test_trends_table_and_json(store, nights, noise):
    filled(store, nights, noise)
    runner = CliRunner()
    out = runner.invoke(trends, ["--warehouse", str(store.path), "--since", "all", "--metric", "p95_ms"])
    assert out.exit_code == 0, out.output
    assert "trends: shop (load)" in out.output and "search" in out.output and "_overall" in out.output
    doc = json.loads(runner.invoke(trends, ["--warehouse", str(store.path), "--since", "all", "--json",
                                            "--endpoint", "_overall"]).output)
    assert {r["metric"] for r in doc["trends"]} == {"p50_ms", "p95_ms", "p99_ms", "mean_ms", "error_rate", "rps"}
    p95 = next(r for r in doc["trends"] if r["metric"] == "p95_ms")
    assert p95["nights"] == 45 and p95["threshold"] == 300 and p95["change_30"] > 0.2  # the campaign's gate
    assert p95["untrusted_nights"] == 0
    search = json.loads(runner.invoke(trends, ["--warehouse", str(store.path), "--since", "all", "--json",
                                               "--endpoint", "search"]).output)["trends"]
    assert {r["metric"]: r["threshold"] for r in search}["rps"] is None  # the run-wide minimum is not an endpoint's
    empty = runner.invoke(trends, ["--warehouse", str(store.path), "--since", "30d"])  # the nights are in 2025
    assert empty.exit_code == 0 and "no nights" in empty.output


def test_regressions_and_exclude(store, nights, noise):
    ids = filled(store, nights, noise)
    runner = CliRunner()
    out = runner.invoke(regressions, ["--warehouse", str(store.path), "--since", "all"])
    assert out.exit_code == 0 and "regression" in out.output and ids[40][:8] in out.output
    doc = json.loads(runner.invoke(regressions, ["--warehouse", str(store.path), "--since", "all", "--json",
                                                 "--metric", "p95_ms"]).output)
    [cp] = doc["change_points"]
    assert cp["run_id"] == ids[40] and cp["endpoint"] == "_overall" and cp["direction"] == "regression"
    done = runner.invoke(exclude, [ids[41], "--reason", "proxy misconfigured", "--warehouse", str(store.path)])
    assert done.exit_code == 0 and "excluded run" in done.output
    doc = json.loads(runner.invoke(regressions, ["--warehouse", str(store.path), "--since", "all", "--json",
                                                 "--refresh"]).output)
    assert doc["excluded_runs"][0]["exclude_reason"] == "proxy misconfigured"
    unknown = runner.invoke(exclude, ["no-such-run", "--reason", "x", "--warehouse", str(store.path)])
    assert unknown.exit_code == 2 and "no run" in unknown.output


def test_bad_input_and_a_missing_warehouse(tmp_path):
    runner = CliRunner()
    assert runner.invoke(trends, ["--metric", "latency", "--warehouse", str(tmp_path / "w.duckdb")]).exit_code == 2
    assert runner.invoke(trends, ["--since", "yesterday", "--warehouse", str(tmp_path / "w.duckdb")]).exit_code == 2
    missing = runner.invoke(regressions, ["--warehouse", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 3 and "no warehouse" in missing.output
    now = datetime(2025, 6, 1, tzinfo=UTC)
    assert parse_since("2w", now) == datetime(2025, 5, 18, tzinfo=UTC)
    assert parse_since("2025-05-01", now) == datetime(2025, 5, 1, tzinfo=UTC) and parse_since("all") is None


def test_as_a_subprocess(store, nights, noise, cli_env):
    filled(store, nights, noise)
    code = "from flows.analytics_cli import regressions; regressions()"
    done = subprocess.run([sys.executable, "-c", code, "--since", "all", "--json"], cwd=ROOT, capture_output=True,
                          text=True, env={**cli_env, "PERFCAMPAIGN_WAREHOUSE": str(store.path)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["change_points"]) >= 1


def test_the_trends_table_is_golden():
    rows = [{"environment": "staging", "endpoint": "_overall", "metric": "p95_ms", "nights": 45, "value": 262.4,
             "median_7": 259.9, "change_7": 0.012, "change_30": 0.301, "slope_per_night": 1.52, "threshold": 3000.0,
             "nights_to_threshold": 1803.0},
            {"environment": "staging", "endpoint": "search", "metric": "error_rate", "nights": 45, "value": 0.0123,
             "median_7": 0.011, "change_7": None, "change_30": -0.05, "slope_per_night": None, "threshold": 0.01,
             "nights_to_threshold": 0.0}]
    console = Console(width=120, record=True, color_system=None, file=open(os.devnull, "w"))
    console.print(trends_table(rows, "trends: shop (load)"))
    text = console.export_text()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
