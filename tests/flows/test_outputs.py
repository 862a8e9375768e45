"""The outputs of a run (``flows.outputs``): one interface, one manager, and an output that fails
never takes the others' work — with the real report, the real slack-sdk against the fake Slack."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import xml.etree.ElementTree as ET

import httpx
import pytest

from campaigns.loader import load_campaign
from flows.outputs import Output, OutputContext, OutputManager, OutputOptions, build_outputs
from flows.runner import RunOptions, run_campaign
from tests.shop import shop_campaign
from warehouse.store import Warehouse


def run_shop(tmp_path, shop_url, extra: str = "", stages=("readiness", "smoke", "chaos")):
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url, extra))
    loaded = load_campaign(path)
    store = Warehouse(tmp_path / "state" / "w.duckdb")
    report = asyncio.run(run_campaign(loaded, store, RunOptions(stages=list(stages), trigger="test")))
    return report.document(), store, loaded


def test_every_registered_output_fulfils_the_contract():
    names = []
    for output in build_outputs().outputs:
        assert isinstance(output, Output), output
        assert output.name and output.name not in names
        names.append(output.name)
        assert list(inspect.signature(output.publish).parameters) == ["doc", "ctx"]
    assert names == ["report", "junit", "pushgateway", "slack", "artifacts", "json"]   # the report first, JSON last


def test_the_run_is_published_once_with_the_chart_and_the_html_in_the_thread(tmp_path, shop_url, fake_slack,
                                                                              slack_client):
    doc, store, loaded = run_shop(tmp_path, shop_url, 'slack_channel: "#perf-shop"\n')
    ctx = OutputContext(store=store, campaign=loaded.campaign, options=OutputOptions(junit=str(tmp_path / "j.xml")),
                        trigger="test", slack_client=slack_client)
    doc = build_outputs().publish(doc, ctx)
    statuses = {name: s.status for name, s in doc.outputs.items()}
    assert statuses == {"report": "done", "junit": "done", "pushgateway": "skipped", "slack": "done",
                        "artifacts": "skipped", "json": "done"}, doc.outputs
    assert doc.report.html.startswith(str(tmp_path / "state" / "reports" / "shop-api"))
    assert doc.report.url is None and doc.report.link == doc.report.html          # nothing serves the folder
    [note] = doc.notifications
    assert note.status == "sent" and note.channel == "#perf-shop" and len(note.file_ids) == 2
    [message] = fake_slack.messages
    names = sorted(f["filename"] for f in fake_slack.files.values())
    assert names == ["report.html", "summary.png"]                                   # the HTML goes to Slack itself
    assert all(f["shared"] == [{"channel": message["channel"], "thread_ts": message["ts"]}]
               for f in fake_slack.files.values())
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert "report: attached in the thread" in text and "production · chaos" in text
    assert ET.parse(tmp_path / "j.xml").getroot().get("tests")
    saved = json.loads((tmp_path / "state" / "reports" / "shop-api").glob("*/run.json").__next__().read_text())
    assert saved["outputs"]["slack"]["status"] == "done" and saved["exit_code"] == 2


def test_a_failing_output_never_costs_the_others(tmp_path, shop_url, fake_slack, slack_client, monkeypatch):
    doc, store, loaded = run_shop(tmp_path, shop_url, 'slack_channel: "#perf-shop"\n')
    import tasks.report

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tasks.report, "build_report", broken)
    ctx = OutputContext(store=store, campaign=loaded.campaign, trigger="test", slack_client=slack_client)
    doc = build_outputs().publish(doc, ctx)
    assert doc.outputs["report"].status == "error" and doc.outputs["report"].error == "RuntimeError: disk full"
    assert doc.report.rebuild == "perfcampaign report --campaign shop-api"
    assert doc.outputs["slack"].status == "done" and doc.notifications[0].status == "sent"  # Slack still told
    assert fake_slack.files == {} and doc.exit_code == 2                   # no chart; the verdict is the run's


def test_an_output_that_fails_to_start_is_reported_and_the_rest_go_on(tmp_path):
    calls = []

    class Sturdy:
        name = "sturdy"

        def enabled(self, ctx):
            return None

        def publish(self, doc, ctx):
            calls.append("sturdy")
            return "ok"

    class Fragile(Sturdy):
        name = "fragile"

        def start(self, ctx):
            raise OSError("port taken")

        def stop(self):
            calls.append("stopped")

    from tasks.document import RunDocument

    manager = OutputManager([Fragile(), Sturdy()])
    ctx = OutputContext(store=Warehouse(tmp_path / "w.duckdb"))
    manager.start(ctx)
    doc = manager.publish(RunDocument(campaign="c"), ctx)
    manager.stop()
    assert doc.outputs["fragile"].status == "error" and "port taken" in doc.outputs["fragile"].error
    assert doc.outputs["sturdy"].status == "done" and calls == ["sturdy"]


def test_report_url_makes_links_buttons(tmp_path, shop_url, fake_slack, slack_client):
    extra = 'slack_channel: "#perf-shop"\nnotify: {report_url: "https://perf.example.com/reports"}\n'
    doc, store, loaded = run_shop(tmp_path, shop_url, extra, stages=("smoke",))
    ctx = OutputContext(store=store, campaign=loaded.campaign, trigger="test", slack_client=slack_client)
    doc = build_outputs().publish(doc, ctx)
    assert doc.report.url.startswith("https://perf.example.com/reports/shop-api/")
    assert doc.report.url.endswith("/report.html") and doc.report.link == doc.report.url
    buttons = [e for b in fake_slack.messages[0]["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons[0]["url"] == doc.report.url
    assert sorted(f["filename"] for f in fake_slack.files.values()) == ["summary.png"]   # a link: no HTML upload


def test_perfcampaign_serve_serves_the_reports_and_new_runs_link_to_it(tmp_path, shop_url):
    from flows.serve import make_server, served_url, write_state

    doc, store, loaded = run_shop(tmp_path, shop_url, stages=("smoke",))
    root = tmp_path / "state" / "reports"
    server = make_server(root, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        write_state(root, url, None)
        assert served_url(root) == url
        ctx = OutputContext(store=store, campaign=loaded.campaign, options=OutputOptions(pngs=False), trigger="test")
        doc = build_outputs().publish(doc, ctx)
        assert doc.report.url.startswith(url + "/shop-api/")
        page = httpx.get(doc.report.url, timeout=10)
        assert page.status_code == 200 and page.text.startswith("<!DOCTYPE html>")
        index = httpx.get(url + "/", timeout=10).text
        assert "shop-api" in index and "passed" in index
        assert httpx.get(url + "/.serve.json", timeout=10).status_code == 404
        assert httpx.get(url + "/../../w.duckdb", timeout=10).status_code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1"])
def test_serve_answers_on_loopback_only(host):
    from click.testing import CliRunner

    from flows.serve import serve

    result = CliRunner().invoke(serve, ["--host", host, "--port", "0"])
    assert result.exit_code == 2 and "loopback only" in result.output
