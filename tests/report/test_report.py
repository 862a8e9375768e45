"""The executive summary: one self-contained HTML file, a PNG for Slack, sections that say
"no data yet" when their tables do not exist."""

from __future__ import annotations

import re

import pytest

from tasks.report import build_report
from tasks.report.data import load_report_data
from tasks.report.png import is_png, png_size
from tests.report.history import NOW



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
    assert body.index("◇ NUMBERS IN DOUBT · dev") < body.index('id="env-dev"')          # trust, in the headline
    for env, verdict in (("dev", "PASSED"), ("staging", "REGRESSED"), ("production", "PASSED")):
        card = re.search(rf'<article class="card"[^>]*>.*?{env}.*?</article>', body, re.S).group(0)
        assert f">{verdict}</div>" in card
    dev = re.search(r'<article class="card"[^>]*>.*?dev.*?</article>', body, re.S).group(0)
    assert "◇ numbers not trustworthy: event loop stalled for up to 176 ms" in dev
    assert "product p95 71.6 ms: +31% vs last night (p=0.00041, within-run); +35% vs baseline" in body
    assert "chaos refused: chaos never runs in a production environment" in body


def test_sections_are_all_there(built):
    html = built.html.read_text()
    for title in ("Service levels", "vs last night and vs baseline", "Change points", "Trends night by night (p95)",
                  "This run, second by second", "End-to-end journeys", "Chaos experiments", "Errors during the load",
                  "Readiness: real or mocked?", "Backlog gaps (open)", "Capacity estimate"):
        assert html.count(f"<h3>{title}</h3>") == 3, title
    assert "712 req/s" in html and "peak throughput (USL)" in html               # staging's stress run
    assert "regression +" in html                                                # the change point row
    assert "Implement GET /api/unread-count (unread-count)" in html               # production's backlog gap


def test_the_run_against_last_night_says_which_method_judged_and_the_nights_each_needs(built):
    html = built.html.read_text()
    staging = html[html.index('id="env-staging"'):html.index('id="env-production"')]
    assert "<b>within-run</b>" in staging and "needs 2 nights, has 30 (✓ ready)" in staging
    assert "<b>change-point</b>" in staging and "needs 6 nights, has 30" in staging
    assert "+31%" in staging and "p=0.00041" in staging and "significant · within-run" in staging


def test_numbers_in_doubt_are_marked_in_the_section_and_the_charts(built):
    html = built.html.read_text()
    dev = html[html.index('id="env-dev"'):html.index('id="env-staging"')]
    assert '<div class="doubt"' in dev and "event loop stalled for up to 176 ms" in dev
    assert "verdict.untrustworthy: warn" in dev
    assert "numbers in doubt" in dev and "marked ◇" in dev                   # the trend's marker and its note


def test_e2e_and_chaos_sections_show_what_they_measured_with_units(built):
    html = built.html.read_text()
    staging = html[html.index('id="env-staging"'):html.index('id="env-production"')]
    assert "2,140 ms" in staging and "good ≤ 2,500 ms · poor &gt; 4,000 ms" in staging      # LCP against its band
    assert "0.180" in staging and "needs-improvement" in staging and "good ≤ 0.1 · poor &gt; 0.25" in staging
    assert "GET /notifications/unread-count answered 404" in staging                       # a friction point
    assert staging.count('src="data:image/png;base64,') == 2                                # screenshots, embedded
    assert "slow-database" in staging and "p95 +212.4 ms" in staging and "3.0 s" in staging
    assert "2.0 s (bound 10.0 s)" in staging and "83 / 100" in staging
    slo = staging[staging.index("<h3>Service levels</h3>"):staging.index("<h3>vs last night")]
    assert "2.0 s" in slo and "&lt;= 10.0 s" in slo and "83 / 100" in slo                   # chaos rows have units


def test_load_errors_are_not_smokes_known_gaps_and_readiness_says_what_was_left_out(built):
    html = built.html.read_text()
    prod = html[html.index('id="env-production"'):]
    errors = prod[prod.index("<h3>Errors during the load</h3>"):prod.index("<h3>Readiness")]
    assert "Known gaps" in errors and "predict-demand" in errors                # smoke's known gap, apart
    assert "left out of load and chaos:</b> predict-demand, students" in prod
    assert "left out of load because" in prod and "mock (95%)" in prod


def test_summary_png_for_slack(built):
    png = built.summary_png
    assert png is not None and is_png(png)
    assert png_size(png) == (2400, 1350)
    assert 40_000 < png.stat().st_size < 2_000_000
    assert {p.name for p in built.pngs} == {"summary.png", "trend-dev.png", "trend-staging.png",
                                           "trend-production.png"}
    assert built.png_error is None and 0 < built.png_seconds < built.seconds < 120


def test_an_empty_warehouse_says_no_data_yet(tmp_path, shop_url):
    import asyncio

    from campaigns.loader import load_campaign
    from flows.runner import RunOptions, run_campaign
    from tests.shop import shop_campaign
    from warehouse.store import Warehouse

    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    store = Warehouse(tmp_path / "w.duckdb")
    asyncio.run(run_campaign(load_campaign(path), store, RunOptions(stages=["smoke"], trigger="test")))
    data = load_report_data(store, "shop-api", now=NOW)
    dev = {e.name: e for e in data.environments}["dev"]
    assert dev.nightly is None and dev.capacity is None and dev.timeseries is None
    assert dev.notes["timeseries"] == "no per-second series for this run (the load stage did not run)"
    assert dev.notes["capacity"].startswith("no capacity estimate yet")
    html = build_report(store, "shop-api", out_dir=tmp_path / "r", now=NOW, pngs=False).html.read_text()
    assert "no open change point over 0 nights" in html and "the e2e stage was not asked for" in html
    assert "the load stage did not run: no load errors to show" in html


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
                                                                          trigger="test"))).document()
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
