"""Exactly-once Slack (issue 14): when Slack's reply is lost after the post, slack-sdk's retry handler
posted again inside one attempt and the outbox resent — four identical messages. Here the real
slack-sdk WebClient talks to the fake Slack Web API through a proxy that loses replies (the post
goes through, the connection is reset): one message per run, whatever is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.notify import notify_run, send_pending
from tasks.notify.outbox import deliver, read
from tasks.notify.slack import web_client, webhook_client
from tests.notify.fake_slack import VALID_TOKEN, WEBHOOK_PATH, LossyProxy
from tests.notify.test_slack import campaign, document, tiny_png
from warehouse.store import Warehouse

HERE = Path(__file__).parent


@pytest.fixture
def doc(tmp_path):
    data = json.loads((HERE / "run-doc.json").read_text())
    png = tiny_png(tmp_path / "summary.png")
    data["report"] = {"html": str(tmp_path / "report.html"), "summary_png": str(png), "link": str(tmp_path / "r.html")}
    return data


@pytest.fixture
def store(tmp_path):
    return Warehouse(tmp_path / "w.duckdb")


@pytest.fixture
def lossy(fake_slack):
    with LossyProxy(fake_slack.base_url) as proxy:
        yield proxy


def test_a_lost_reply_is_neither_retried_nor_resent_one_message(fake_slack, lossy, store, doc):
    client = web_client(VALID_TOKEN, base_url=lossy.api_url, timeout=10)
    lossy.lose("chat.postMessage")
    [first] = notify_run(store, document(doc), campaign(), client=client)
    assert first.status == "pending" and "outcome is unknown" in first.error
    assert lossy.seen["chat.postMessage"] == 1            # no retry inside the attempt
    assert len(fake_slack.messages) == 1                  # Slack did post it
    row = read(store, first.notification_id)
    assert row["posting_since"] is not None and row["message_ts"] is None

    [second] = send_pending(store, client)               # finds it in the channel's history
    assert second.status == "sent", second.error
    assert lossy.seen["chat.postMessage"] == 1 and len(fake_slack.messages) == 1
    [message] = fake_slack.messages
    assert second.message_ts == message["ts"]
    assert message["metadata"] == {"event_type": "perfcampaign_summary",
                                   "event_payload": {"notification_id": first.notification_id}}
    [uploaded] = fake_slack.files.values()               # the chart still goes into its thread
    assert uploaded["shared"] == [{"channel": message["channel"], "thread_ts": message["ts"]}]
    assert send_pending(store, client) == []
    assert len(fake_slack.messages) == 1


def test_lost_again_and_again_it_is_still_one_message(fake_slack, lossy, store, doc):
    """Every reply lost, history answers lost too: attempts end, never a second message."""
    client = web_client(VALID_TOKEN, base_url=lossy.api_url, timeout=10)
    lossy.lose("chat.postMessage", times=5)
    lossy.lose("conversations.history", times=2)
    [first] = notify_run(store, document(doc), campaign(max_attempts=4), client=client)
    for _ in range(3):
        send_pending(store, client, include_failed=True)
    assert len(fake_slack.messages) == 1
    assert lossy.seen.get("chat.postMessage") == 1
    assert read(store, first.notification_id)["status"] in ("sent", "failed")
    send_pending(store, client, include_failed=True)
    assert read(store, first.notification_id)["status"] == "sent" and len(fake_slack.messages) == 1


def test_a_post_that_never_reached_slack_is_posted_on_the_next_attempt(fake_slack, store, doc):
    """Slack answered an error (ok: false): nothing was posted, so the next attempt posts, once."""
    fake_slack.fail("chat.postMessage", "internal_error")
    client = web_client(VALID_TOKEN, base_url=fake_slack.api_url, timeout=10)
    [first] = notify_run(store, document(doc), campaign(), client=client)
    assert first.status == "pending" and read(store, first.notification_id)["posting_since"] is None
    [second] = send_pending(store, client)
    assert second.status == "sent" and len(fake_slack.messages) == 1
    assert fake_slack.count("conversations.history") == 0   # no doubt, no look-up


def test_without_channels_history_an_unknown_post_is_failed_not_resent(fake_slack, lossy, store, doc):
    fake_slack.history_scope = False
    client = web_client(VALID_TOKEN, base_url=lossy.api_url, timeout=10)
    lossy.lose("chat.postMessage")
    [first] = notify_run(store, document(doc), campaign(), client=client)
    [second] = send_pending(store, client)
    assert second.status == "failed" and "channels:history" in second.error and "--force" in second.error
    assert len(fake_slack.messages) == 1
    forced = deliver(store, first.notification_id, client=client, force=True)   # the user's decision
    assert forced.status == "sent" and len(fake_slack.messages) == 2


def test_a_webhook_whose_reply_was_lost_is_not_posted_again(fake_slack, lossy, store, doc):
    hook = webhook_client(lossy.url + WEBHOOK_PATH, timeout=10)
    lossy.lose(WEBHOOK_PATH.rsplit("/", 1)[-1])
    [first] = notify_run(store, document(doc), campaign(webhook="${env:X}"), webhook=hook)
    assert first.status == "pending" and len(fake_slack.webhook_posts) == 1
    [second] = send_pending(store, webhook=hook)
    assert second.status == "failed" and "no history to check" in second.error
    assert len(fake_slack.webhook_posts) == 1
