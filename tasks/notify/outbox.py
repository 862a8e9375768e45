"""The Slack outbox: a summary is stored in ``notifications`` (migration 0005) before it is sent.

Lifecycle of a row::

    pending ──claim──▶ sending ──▶ sent
       ▲                  │
       └──── failure ─────┤ (attempts < max_attempts)
                          └──▶ failed          skipped: not sent on purpose (level, no Slack set up)

A send first *claims* the row (``UPDATE … SET status = 'sending' WHERE status = 'pending'``, one
statement, so two processes never both claim it), then posts, records the message's ``ts`` at once,
uploads the files into the message's thread (the summary chart, and ``report.html`` itself when no
``report_url`` serves it) in one ``files_upload_v2`` call and records the file ids. A retry skips
the steps already recorded: the message is posted exactly once even when the upload failed after
it. A claim left in ``sending`` by a process that died is taken over after :data:`STALE_CLAIM`.

``store`` is duck-typed: ``warehouse.store.Warehouse``, whose ``warehouse.queries`` hold the SQL
(``notification``, ``claim_notification``, ``update_notification``, ``pending_notification_ids``)
and ``write_rows``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tasks.notify.blocks import Message
from tasks.notify.slack import DeliveryError, SlackSender, WebhookSender, web_client, webhook_client

TABLE = "notifications"
STALE_CLAIM = timedelta(minutes=10)


def now_utc() -> datetime:
    return datetime.now(UTC)


def notification_id(run_ids: list[str], transport: str, channel: str | None) -> str:
    """The same runs to the same place are one notification, however often the flow retries."""
    key = "|".join(sorted(run_ids)) + f"|{transport}|{channel or ''}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"perfcampaign:notification:{key}"))


@dataclass
class Outgoing:
    campaign: str
    environments: list[str]
    run_ids: list[str]
    transport: str                       # bot | webhook
    channel: str | None
    level: str
    verdict: str
    message: Message
    flow_run_id: str | None = None
    attachment: Path | None = None
    report_html: Path | None = None
    token_ref: str | None = None
    webhook_ref: str | None = None
    max_attempts: int = 5

    @property
    def id(self) -> str:
        return notification_id(self.run_ids, self.transport, self.channel)


@dataclass
class Delivery:
    notification_id: str
    status: str
    channel: str | None = None
    attempts: int = 0
    error: str | None = None
    message_ts: str | None = None
    file_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.notification_id, "status": self.status, "channel": self.channel,
                "attempts": self.attempts, "error": self.error, "message_ts": self.message_ts,
                "file_ids": self.file_ids}


def enqueue(store: Any, out: Outgoing, *, status: str = "pending", reason: str | None = None,
            now: datetime | None = None) -> Delivery:
    """Store the summary (idempotent: a second enqueue of the same runs and destination is a no-op)."""
    now = now or now_utc()
    existing = read(store, out.id)
    if existing is not None:
        return _delivery(existing)
    store.write_rows({TABLE: [{
        "notification_id": out.id, "campaign": out.campaign, "environments": out.environments,
        "run_ids": out.run_ids, "flow_run_id": out.flow_run_id, "transport": out.transport, "channel": out.channel,
        "level": out.level, "verdict": out.verdict, "text": out.message.text, "blocks": out.message.blocks,
        "attachment": str(out.attachment) if out.attachment else None,
        "report_html": str(out.report_html) if out.report_html else None, "token_ref": out.token_ref,
        "webhook_ref": out.webhook_ref, "status": status, "attempts": 0, "max_attempts": out.max_attempts,
        "last_error": reason, "created_at": now, "updated_at": now}]})
    return Delivery(out.id, status, out.channel, 0, reason)


def read(store: Any, nid: str) -> dict[str, Any] | None:
    return store.notification(nid)


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(row["notification_id"], row["status"], row.get("channel"), row.get("attempts") or 0,
                    row.get("last_error"), row.get("message_ts"), list(row.get("file_ids") or []))


def _claim(store: Any, nid: str, now: datetime, include_failed: bool, force: bool = False) -> dict[str, Any] | None:
    return store.claim_notification(nid, now, now - STALE_CLAIM, include_failed=include_failed, force=force)


def _update(store: Any, nid: str, **values: Any) -> None:
    store.update_notification(nid, **values)


def _resolve(ref: str | None, what: str) -> str:
    from campaigns.types import UnresolvedSecret, resolve_refs

    if not ref:
        raise DeliveryError(f"no {what} configured", "config")
    try:
        return resolve_refs(ref)
    except UnresolvedSecret as exc:
        raise DeliveryError(f"the Slack {what} is not available: {exc}", "config") from exc


def _message(row: dict[str, Any]) -> Message:
    import json

    blocks = row["blocks"]
    return Message(text=row["text"], blocks=json.loads(blocks) if isinstance(blocks, str) else blocks)


def deliver(store: Any, nid: str, *, client: Any = None, webhook: Any = None, include_failed: bool = False,
            force: bool = False, now: datetime | None = None) -> Delivery:
    """Claim and send one notification. ``client`` (a ``WebClient``) / ``webhook`` (a ``WebhookClient``)
    are built from the row's token / webhook reference when not given. ``force`` also sends a
    skipped or failed one (never a sent one)."""
    now = now or now_utc()
    row = _claim(store, nid, now, include_failed, force)
    if row is None:
        current = read(store, nid)
        if current is None:
            raise LookupError(f"no notification {nid}")
        return _delivery(current)
    message = _message(row)
    ts, channel_id = row.get("message_ts"), row.get("posted_channel")
    files = list(row.get("file_ids") or [])
    note = None
    try:
        if row["transport"] == "webhook":
            WebhookSender(webhook or webhook_client(_resolve(row.get("webhook_ref"), "webhook URL"))).post(message)
        else:
            sender = SlackSender(client or web_client(_resolve(row.get("token_ref"), "bot token")))
            if not ts:
                posted = sender.post(row["channel"], message)
                ts, channel_id = posted.ts, posted.channel
                _update(store, nid, message_ts=ts, posted_channel=channel_id, updated_at=now_utc())
            wanted = [(Path(row[k]), title) for k, title in (
                ("attachment", f"{row['campaign']} — performance summary"),
                ("report_html", f"{row['campaign']} — executive summary (report.html, opens offline)")) if row.get(k)]
            present = [(p, t) for p, t in wanted if p.exists()]
            if present and not files:
                files = sender.upload_many(channel_id or row["channel"], ts, present)
                _update(store, nid, file_ids=files, updated_at=now_utc())
            gone = [p.name for p, _ in wanted if not p.exists()]
            if gone:
                note = f"{', '.join(gone)} no longer exist{'s' if len(gone) == 1 else ''}: sent without"
    except DeliveryError as exc:
        attempts = row["attempts"]
        status = "failed" if attempts >= row["max_attempts"] else "pending"
        _update(store, nid, status=status, last_error=str(exc), updated_at=now_utc())
        return Delivery(nid, status, row.get("channel"), attempts, str(exc), ts, files)
    _update(store, nid, status="sent", sent_at=now_utc(), updated_at=now_utc(), last_error=note)
    return Delivery(nid, "sent", row.get("channel"), row["attempts"], note, ts, files)


def pending_ids(store: Any, *, include_failed: bool = False, now: datetime | None = None) -> list[str]:
    now = now or now_utc()
    return store.pending_notification_ids(now - STALE_CLAIM, include_failed=include_failed)


def send_pending(store: Any, client: Any = None, *, webhook: Any = None, include_failed: bool = False,
                 now: datetime | None = None) -> list[Delivery]:
    """Send every pending summary (oldest first); each is delivered at most once."""
    return [deliver(store, nid, client=client, webhook=webhook, include_failed=include_failed, now=now)
            for nid in pending_ids(store, include_failed=include_failed, now=now)]
