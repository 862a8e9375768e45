"""Slack delivery with the real slack-sdk clients against the fake Slack Web API on loopback."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from tasks.document import RunDocument
from tasks.notify import notify_run, send_pending
from tasks.notify.config import NotifySettings
from tasks.notify.outbox import read
from tasks.notify.slack import web_client, webhook_client
from tests.loopback import free_port
from tests.notify.fake_slack import VALID_TOKEN
from warehouse.store import Warehouse

HERE = Path(__file__).parent


def tiny_png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"\x00\xff\x00\x00"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def campaign(channel: str | None = "#perf-demo", per_env: dict | None = None, **notify) -> SimpleNamespace:
    envs = {name: SimpleNamespace(slack_channel=(per_env or {}).get(name)) for name in ("dev", "staging", "production")}
    return SimpleNamespace(campaign="demo", slack_channel=channel, environments=envs,
                           notify=NotifySettings(**notify) if notify else None)


@pytest.fixture
def report(tmp_path):
    return {"html": str(tmp_path / "report.html"), "summary_png": str(tiny_png(tmp_path / "summary.png"))}


@pytest.fixture
def doc(report):
    """The fixture run, its report a file nobody serves (no report_url)."""
    data = json.loads((HERE / "run-doc.json").read_text())
    data["report"] = {**report, "link": report["html"]}
    return data


def document(data: dict) -> RunDocument:
    return RunDocument.from_json(data)


@pytest.fixture
def store(tmp_path):
    return Warehouse(tmp_path / "w.duckdb")


def test_one_message_per_run_with_the_chart_in_its_thread(fake_slack, slack_client, store, doc, report):
    [delivery] = notify_run(store, document(doc), campaign(), client=slack_client,
                            flow_run_url="http://127.0.0.1:4200/runs/flow-run/x")
    assert delivery.status == "sent", delivery.error
    assert fake_slack.count("chat.postMessage") == 1            # never one per stage, shard or environment
    [message] = fake_slack.messages
    assert message["channel_name"] == "#perf-demo" and "Failed" in message["text"]
    [uploaded] = fake_slack.files.values()
    assert uploaded["content"] == Path(report["summary_png"]).read_bytes()
    assert uploaded["shared"] == [{"channel": message["channel"], "thread_ts": message["ts"]}]
    row = read(store, delivery.notification_id)
    assert row["status"] == "sent" and row["message_ts"] == message["ts"] and row["file_ids"] == [uploaded["id"]]
    assert row["attempts"] == 1 and row["environments"] == ["dev", "staging", "production"]
    assert {f["filename"] for f in fake_slack.files.values()} == {"summary.png"}   # report.html is not on disk


def test_with_no_report_url_the_html_goes_into_the_thread(fake_slack, slack_client, store, doc, report, tmp_path):
    (tmp_path / "report.html").write_text("<!DOCTYPE html><html><body>report</body></html>")
    [delivery] = notify_run(store, document(doc), campaign(), client=slack_client)
    assert delivery.status == "sent" and len(delivery.file_ids) == 2
    uploaded = {f["filename"]: f for f in fake_slack.files.values()}
    assert uploaded["report.html"]["content"].startswith(b"<!DOCTYPE html>")
    served = {**doc, "report": {**doc["report"], "url": "https://perf.example.com/r/report.html"}}
    fake_slack.reset()
    notify_run(Warehouse(tmp_path / "other.duckdb"), document(served), campaign(), client=slack_client)
    assert {f["filename"] for f in fake_slack.files.values()} == {"summary.png"}     # a link instead


def test_environments_with_their_own_channel_get_their_own_message(fake_slack, slack_client, store, doc, report):
    deliveries = notify_run(store, document(doc), campaign(per_env={"production": "#perf-prod"}),
                            client=slack_client)
    assert sorted(d.channel for d in deliveries) == ["#perf-demo", "#perf-prod"]
    assert all(d.status == "sent" for d in deliveries)
    by_channel = {m["channel_name"]: m for m in fake_slack.messages}
    assert "production" in by_channel["#perf-prod"]["text"] or "Passed" in by_channel["#perf-prod"]["text"]
    assert "staging" not in json.dumps(by_channel["#perf-prod"]["blocks"])


def test_a_failing_slack_keeps_the_summary_and_send_pending_delivers_it_once(fake_slack, store, doc, report):
    bad = web_client("xoxb-revoked", base_url=fake_slack.api_url)
    [delivery] = notify_run(store, document(doc), campaign(), client=bad)
    assert delivery.status == "pending" and "invalid_auth" in delivery.error
    assert fake_slack.messages == []
    row = read(store, delivery.notification_id)
    assert row["status"] == "pending" and row["attempts"] == 1 and json.loads(row["blocks"])

    good = web_client(VALID_TOKEN, base_url=fake_slack.api_url)
    [retried] = send_pending(store, good)
    assert retried.status == "sent" and len(fake_slack.messages) == 1
    assert send_pending(store, good) == []                       # exactly once
    assert notify_run(store, document(doc), campaign(), client=good)[0].status == "sent"   # idempotent
    assert len(fake_slack.messages) == 1 and read(store, delivery.notification_id)["attempts"] == 2


def test_an_unreachable_slack_keeps_the_summary_pending(fake_slack, store, doc, report):
    down = web_client(VALID_TOKEN, base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=2)
    down.retry_handlers = []
    [delivery] = notify_run(store, document(doc), campaign(), client=down)
    assert delivery.status == "pending" and "chat.postMessage" in delivery.error
    [sent] = send_pending(store, web_client(VALID_TOKEN, base_url=fake_slack.api_url))
    assert sent.status == "sent" and fake_slack.count("chat.postMessage") == 1


def test_an_upload_failure_is_retried_without_posting_twice(fake_slack, slack_client, store, doc, report):
    fake_slack.fail("files.completeUploadExternal", "internal_error")
    [delivery] = notify_run(store, document(doc), campaign(), client=slack_client)
    assert delivery.status == "pending" and "internal_error" in delivery.error
    assert read(store, delivery.notification_id)["message_ts"] == fake_slack.messages[0]["ts"]
    [retried] = send_pending(store, slack_client)
    assert retried.status == "sent" and retried.file_ids
    assert fake_slack.count("chat.postMessage") == 1 and len(fake_slack.messages) == 1


def test_attempts_run_out_into_failed(fake_slack, store, doc, report):
    bad = web_client("xoxb-revoked", base_url=fake_slack.api_url)
    [first] = notify_run(store, document(doc), campaign(max_attempts=2), client=bad)
    assert first.status == "pending"
    [second] = send_pending(store, bad)
    assert second.status == "failed" and second.attempts == 2
    assert send_pending(store, bad) == []
    [forced] = send_pending(store, web_client(VALID_TOKEN, base_url=fake_slack.api_url), include_failed=True)
    assert forced.status == "sent"


@pytest.mark.parametrize(("level", "env_status", "sent"), [
    ("always", None, True), ("on_failure", None, True), ("on_regression", None, True),
    ("on_failure", "passed", False), ("on_regression", "no-regression", False)])
def test_notify_levels(fake_slack, slack_client, store, doc, report, level, env_status, sent):
    if env_status == "passed":
        doc["environments"] = {"production": doc["environments"]["production"]}
    if env_status == "no-regression":
        doc["environments"] = {"production": doc["environments"]["production"]}
        for env in doc["environments"].values():
            for stage in env["stages"].values():
                stage["gates"] = [g for g in stage.get("gates", []) if not g["name"].startswith("regression")]
    [delivery] = notify_run(store, document(doc), campaign(level=level), client=slack_client)
    assert (delivery.status == "sent") is sent
    assert len(fake_slack.messages) == (1 if sent else 0)
    if not sent:
        assert delivery.status == "skipped" and level in delivery.error


def test_per_environment_levels_choose_what_the_message_covers(fake_slack, slack_client, store, doc, report):
    levels = {"production": "always", "dev": "on_regression"}      # dev is in doubt, not regressed
    [delivery] = notify_run(store, document(doc), campaign(level="on_failure", levels=levels), client=slack_client)
    assert delivery.status == "sent"
    assert read(store, delivery.notification_id)["environments"] == ["staging", "production"]


def test_no_token_means_slack_is_not_set_up(fake_slack, store, doc, report, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    [delivery] = notify_run(store, document(doc), campaign())
    assert delivery.status == "skipped" and "SLACK_BOT_TOKEN" in delivery.error
    assert fake_slack.calls == [] and send_pending(store) == []
    assert notify_run(store, document(doc), campaign(channel=None)) == []     # no channel: nothing at all


def test_the_token_comes_from_the_environment(fake_slack, store, doc, report, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    monkeypatch.setenv("PERFCAMPAIGN_SLACK_API_URL", fake_slack.api_url)
    [delivery] = notify_run(store, document(doc), campaign())
    assert delivery.status == "sent" and fake_slack.count("chat.postMessage") == 1


def test_the_token_can_come_from_a_prefect_secret_reference(fake_slack, store, doc, report, monkeypatch):
    from campaigns.types import RESOLVERS

    monkeypatch.setitem(RESOLVERS, "prefect", lambda name: VALID_TOKEN if name == "slack-bot" else "")
    monkeypatch.setenv("PERFCAMPAIGN_SLACK_API_URL", fake_slack.api_url)
    [delivery] = notify_run(store, document(doc), campaign(token="${prefect:slack-bot}"))
    assert delivery.status == "sent"


def test_incoming_webhook(fake_slack, store, doc, report, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", fake_slack.webhook_url)
    [delivery] = notify_run(store, document(doc), campaign(webhook="${env:SLACK_WEBHOOK_URL}"))
    assert delivery.status == "sent"
    [post] = fake_slack.webhook_posts
    assert post["blocks"][0]["type"] == "header" and fake_slack.files == {}


def test_a_failing_webhook_keeps_the_summary(fake_slack, store, doc, report):
    hook = webhook_client(fake_slack.webhook_url)
    fake_slack.fail("webhook", "boom", status=500)
    [delivery] = notify_run(store, document(doc), campaign(webhook="${env:UNUSED_HOOK}"), webhook=hook)
    assert delivery.status == "pending" and "500" in delivery.error
    [sent] = send_pending(store, webhook=hook)
    assert sent.status == "sent" and len(fake_slack.webhook_posts) == 1


def test_the_fake_enforces_block_kit_limits(fake_slack, slack_client):
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError) as err:
        slack_client.chat_postMessage(channel="#x", text="t", blocks=[{"type": "divider"}] * 51)
    assert err.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError):
        slack_client.chat_postMessage(channel="#x", text="t", blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}])
    assert slack_client.auth_test()["ok"]


def test_notify_pending_command(fake_slack, store, doc, report, monkeypatch):
    from flows.report_cli import notify

    bad = web_client("xoxb-revoked", base_url=fake_slack.api_url)
    notify_run(store, document(doc), campaign(), client=bad)
    monkeypatch.setenv("SLACK_BOT_TOKEN", VALID_TOKEN)
    monkeypatch.setenv("PERFCAMPAIGN_SLACK_API_URL", fake_slack.api_url)
    result = CliRunner().invoke(notify, ["--pending", "--warehouse", str(store.path), "--json"])
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.output)["deliveries"]
    assert entry["status"] == "sent" and len(fake_slack.messages) == 1
    again = CliRunner().invoke(notify, ["--pending", "--warehouse", str(store.path)])
    assert again.exit_code == 0 and "nothing pending" in again.output
