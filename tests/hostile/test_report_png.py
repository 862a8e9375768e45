"""The report's PNGs cost a Chromium (~450 MB PSS, ~1 GB RSS, after the stages): a run renders them
only when its Slack message uploads summary.png, or when asked — the HTML report is always written."""

from __future__ import annotations

import asyncio

import pytest

from campaigns.loader import load_campaign
from flows.outputs import OutputContext, OutputOptions
from flows.outputs.report import ReportOutput
from flows.runner import RunOptions, run_campaign
from tasks.report.png import slack_uploads
from tests.shop import shop_campaign
from warehouse.store import Warehouse

SLACK = 'slack_channel: "#perf-shop"\n'


def loaded(tmp_path, extra: str = "", url: str = "http://127.0.0.1:9"):
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(url, extra))
    return load_campaign(path)


@pytest.mark.parametrize("extra, uploads", [
    ("", None),
    (SLACK, "#perf-shop"),
    (SLACK + "notify: {upload_chart: false}\n", None),
    (SLACK + 'notify: {webhook: "${env:SLACK_WEBHOOK}"}\n', None),     # webhooks upload nothing
])
def test_only_a_bot_channel_uploading_the_chart_wants_the_png(tmp_path, extra, uploads):
    campaign = loaded(tmp_path, extra).campaign
    assert slack_uploads(campaign, list(campaign.environments)) == uploads
    assert slack_uploads(None, ["dev"]) is None


def render(tmp_path, shop_url, extra: str, options: OutputOptions):
    campaign = loaded(tmp_path, extra, shop_url)
    store = Warehouse(tmp_path / "state" / "w.duckdb")
    doc = asyncio.run(run_campaign(campaign, store, RunOptions(stages=["smoke"], trigger="test"))).document()
    ReportOutput().publish(doc, OutputContext(store=store, campaign=campaign.campaign, options=options))
    return doc.report


def test_by_default_a_run_without_slack_writes_the_html_report_and_starts_no_browser(tmp_path, shop_url,
                                                                                     monkeypatch):
    started = []
    import tasks.report.png as png

    monkeypatch.setattr(png, "render_pngs", lambda *a, **k: started.append(a) or png.Rendered())
    report = render(tmp_path, shop_url, "", OutputOptions())
    assert started == [] and report.pngs == [] and report.png_error is None
    assert report.html and open(report.html, encoding="utf-8").read().startswith("<!DOCTYPE html>")


@pytest.mark.slow
@pytest.mark.parametrize("extra, options", [(SLACK, OutputOptions()), ("", OutputOptions(pngs=True))])
def test_a_slack_upload_or_an_explicit_ask_renders_summary_png(tmp_path, shop_url, extra, options):
    report = render(tmp_path, shop_url, extra, options)
    assert report.summary_png and open(report.summary_png, "rb").read(8) == b"\x89PNG\r\n\x1a\n", report.png_error
