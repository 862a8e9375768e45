"""The end of a run (``flows.report_cli.publish_run``): the report, then one Slack message with the
chart, and the JSON document's ``report`` and ``notifications`` entries."""

from __future__ import annotations

import asyncio
import json

from campaigns.loader import load_campaign
from flows.report_cli import publish_run
from flows.runner import RunOptions, run_campaign
from tests.shop import shop_campaign
from warehouse.store import Warehouse


def run_shop(tmp_path, shop_url, extra: str = "") -> tuple[dict, Warehouse, object]:
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url, extra))
    loaded = load_campaign(path)
    store = Warehouse(tmp_path / "state" / "w.duckdb")
    doc = asyncio.run(run_campaign(loaded, store, RunOptions(stages=["readiness", "smoke", "chaos"],
                                                             trigger="test"))).to_dict()
    return doc, store, loaded


def test_publish_run_reports_and_notifies_once(tmp_path, shop_url, fake_slack, slack_client):
    doc, store, loaded = run_shop(tmp_path, shop_url, 'slack_channel: "#perf-shop"\n')
    doc.update(publish_run(doc, store=store, campaign=loaded.campaign, client=slack_client, trigger="test"))
    json.dumps({"report": doc["report"], "notifications": doc["notifications"]})   # plain JSON
    report = doc["report"]
    assert report["html"].startswith(str(tmp_path / "state" / "reports" / "shop-api"))
    assert report["summary_png"] in report["pngs"] and report["link"].startswith("file://")
    assert report["png_error"] is None and report["seconds"] > report["png_seconds"] > 0
    [note] = doc["notifications"]
    assert note["status"] == "sent" and note["channel"] == "#perf-shop" and note["file_ids"]
    [message] = fake_slack.messages
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert "production · chaos (chaos never runs in a production environment)" in text   # refused, shown
    assert "report: `" in text                                           # a local report is a path, not a button
    assert doc["exit_code"] == 2                                         # chaos was asked of production by name


def test_a_broken_report_never_costs_the_run(tmp_path, shop_url, fake_slack, slack_client, monkeypatch):
    doc, store, loaded = run_shop(tmp_path, shop_url, 'slack_channel: "#perf-shop"\n')
    import tasks.report

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tasks.report, "build_report", broken)
    out = publish_run(doc, store=store, campaign=loaded.campaign, client=slack_client)
    assert out["report"]["error"] == "RuntimeError: disk full"
    assert out["report"]["rebuild"] == "perfcampaign report --campaign shop-api"
    assert out["notifications"][0]["status"] == "sent"                    # Slack still told, without a chart
    assert fake_slack.files == {}
