"""The executive summary: one self-contained HTML file, a PNG for Slack, sections that say
"no data yet" when their tables do not exist."""

from __future__ import annotations

import re

import pytest

from tasks.report import build_report
from tasks.report.data import load_report_data
from tasks.report.png import is_png, png_size
from tests.report.history import NOW

ANALYTICS = {"change_points", "baselines", "trends", "capacity_estimates", "bottleneck_hints"}
LOAD = {"load_timeseries", "load_runs"}


def test_html_is_self_contained(built):
    html = built.html.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", html), "a script fetched from elsewhere"
    assert not re.search(r"<link[^>]+href=[\"']https?:", html) and "@import" not in html
    assert html.count("<script type=\"text/javascript\">/**\n* plotly.js") == 1     # plotly.js inlined, once
    assert html.count("Plotly.newPlot(") >= 6                                     # the charts draw themselves
    assert 3_000_000 < len(html) < 12_000_000


def test_headline_verdicts_come_first(built):
    html = built.html.read_text()
    body = html[html.index("<main>"):]
    assert body.index("REGRESSED · staging needs attention") < body.index('id="env-dev"')
    for env, verdict in (("dev", "PASSED"), ("staging", "REGRESSED"), ("production", "PASSED")):
        card = re.search(rf'<article class="card"[^>]*>.*?{env}.*?</article>', body, re.S).group(0)
        assert f">{verdict}</div>" in card
    assert "product p95 +34.8% (53.1 → 71.6) since 2026-11-17" in body
    assert "chaos refused: chaos never runs in a production environment" in body


def test_sections_are_all_there(built):
    html = built.html.read_text()
    for title in ("Service levels", "Regressions and change points", "Trends night by night (p95)",
                  "This run, second by second", "Errors", "Readiness: real or mocked?", "Backlog gaps (open)",
                  "Capacity estimate"):
        assert html.count(f"<h3>{title}</h3>") == 3, title
    assert "712 req/s" in html and "peak throughput (USL)" in html               # staging's stress run
    assert "regression +" in html                                                # the change point row
    assert "Implement GET /api/unread-count (unread-count)" in html               # production's backlog gap


def test_summary_png_for_slack(built):
    png = built.summary_png
    assert png is not None and is_png(png)
    assert png_size(png) == (2400, 1350)
    assert 40_000 < png.stat().st_size < 2_000_000
    assert {p.name for p in built.pngs} == {"summary.png", "trend-dev.png", "trend-staging.png",
                                           "trend-production.png"}
    assert built.png_error is None and 0 < built.png_seconds < built.seconds < 120


def test_missing_tables_say_no_data_yet(history, hiding, tmp_path):
    store, _ = history
    bare = hiding(store, ANALYTICS | LOAD)
    data = load_report_data(bare, "demo", now=NOW)
    staging = {e.name: e for e in data.environments}["staging"]
    assert staging.change_points is None and staging.baselines is None and staging.capacity is None
    assert staging.notes["timeseries"] == "no per-second series in this warehouse yet"
    assert staging.notes["capacity"] == "no capacity estimates in this warehouse yet"
    paths = build_report(bare, "demo", out_dir=tmp_path, now=NOW, pngs=False)
    html = paths.html.read_text()
    assert "no change-point analysis in this warehouse yet" in html
    assert "no per-second series in this warehouse yet" in html and paths.pngs == []


def test_a_smoke_only_run_says_why_slos_are_not_measured(tmp_path, shop_url):
    import asyncio

    from campaigns.loader import load_campaign
    from flows.runner import RunOptions, run_campaign
    from tests.shop import shop_campaign
    from warehouse.store import Warehouse

    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    store = Warehouse(tmp_path / "w.duckdb")
    doc = asyncio.run(run_campaign(load_campaign(path), store, RunOptions(stages=["readiness", "smoke"],
                                                                          trigger="test"))).to_dict()
    paths = build_report(store, doc=doc, out_dir=tmp_path / "r", pngs=False)
    html = paths.html.read_text()
    assert "SLOs are measured by the load stage; the load stage was not asked for in this run." in html
    assert html.count("not measured") >= 4 and "p95 latency" in html        # seed 001's thresholds, unmeasured
    assert "no load history yet" in html
    assert paths.verdict == "passed" and ">PASSED</div>" in html


def test_unknown_campaign(history):
    store, _ = history
    with pytest.raises(LookupError):
        load_report_data(store, "nope")


def test_report_command(history, tmp_path):
    import json

    from click.testing import CliRunner

    from flows.report_cli import report

    store, _ = history
    runner = CliRunner()
    result = runner.invoke(report, ["--warehouse", str(store.path), "--campaign", "demo", "--env", "staging",
                                    "--since", "all", "--out", str(tmp_path), "--no-png", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["html"] == str(tmp_path / "report.html") and doc["verdict"] == "regressed" and doc["pngs"] == []
    assert runner.invoke(report, ["--warehouse", str(store.path), "--campaign", "nope"]).exit_code == 2
    assert runner.invoke(report, ["--warehouse", str(store.path), "--since", "soon"]).exit_code == 2
    assert runner.invoke(report, ["--warehouse", str(tmp_path / "none.duckdb")]).exit_code == 3
