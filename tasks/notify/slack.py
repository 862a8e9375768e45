"""Thin senders around slack-sdk: a bot (``WebClient``) or an incoming webhook (``WebhookClient``).

The client is injected, so tests hand in a real ``WebClient(base_url=…)`` pointed at a local fake
of Slack's Web API and production hands in one built by :func:`web_client`. A bot posts the message
with ``chat.postMessage`` and uploads the summary PNG into the message's thread with
``files_upload_v2`` (``files.getUploadURLExternal`` → upload → ``files.completeUploadExternal``),
so a run is one message in the channel, its chart one click away. A webhook can only post.

Every failure surfaces as :class:`DeliveryError` (the outbox keeps the summary and retries).

Exactly once: a post is never retried blindly. ``DeliveryError.posted`` says whether Slack may have
posted anyway — ``False`` when Slack answered an error (``ok: false``, HTTP 429) or nothing was sent
(connection refused, no DNS), ``None`` when the outcome is unknown (the reply was lost: a reset, a
timeout, a 5xx). slack-sdk's own retry handlers retry connection errors inside one call, which posted
a message twice when the reply was lost after the post; here they never retry ``chat.postMessage``
unless nothing was sent. Each message carries its idempotency key in its metadata
(``perfcampaign_summary`` / ``notification_id``), and :meth:`SlackSender.find_posted` looks for it in
the channel's recent history (``conversations.history``, scope ``channels:history``), so the outbox
can tell a lost reply from a lost post before it posts again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campaigns.errors import MachineryError
from tasks.notify.blocks import Message

#: override of Slack's API base URL (a Slack-compatible proxy, or the tests' fake)
API_URL_ENV = "PERFCAMPAIGN_SLACK_API_URL"


#: the metadata event type of perfcampaign's messages; its payload holds the idempotency key
EVENT_TYPE = "perfcampaign_summary"


class DeliveryError(MachineryError):
    """Slack refused or could not be reached; ``stage`` says which step (post, upload, webhook).
    ``posted``: False when the message was certainly not posted, None when nobody knows."""

    def __init__(self, message: str, stage: str, posted: bool | None = False):
        super().__init__(message)
        self.stage = stage
        self.posted = posted


def _outcome(exc: BaseException) -> bool | None:
    """False: Slack did not post (it answered an error, or nothing was sent); None: unknown."""
    import socket
    from urllib.error import URLError

    response = getattr(exc, "response", None)
    if response is not None:
        status = getattr(response, "status_code", None)
        if status == 429:
            return False
        if status is not None and status >= 500:
            return None
        try:
            if response.get("ok") is False:
                return False
        except Exception:  # noqa: BLE001 - a body that is not JSON
            return None
        return None
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, ConnectionRefusedError | socket.gaierror):
        return False
    return None


def post_safe_retry(max_retry_count: int = 2) -> Any:
    """slack-sdk's connection-error retry, except for a post whose request may have left: retrying
    ``chat.postMessage`` after a reset or a dropped reply posts the message twice. (slack-sdk is
    imported here, not at the top: the CLI's fast paths never load it.)"""
    import socket
    from urllib.error import URLError

    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

    class PostSafeRetry(ConnectionErrorRetryHandler):
        def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
            if "chat.postMessage" in (getattr(request, "url", "") or ""):
                reason = error.reason if isinstance(error, URLError) else error
                return response is None and isinstance(reason, ConnectionRefusedError | socket.gaierror)
            return super()._can_retry(state=state, request=request, response=response, error=error)

    return PostSafeRetry(max_retry_count=max_retry_count)


@dataclass
class Posted:
    channel: str
    ts: str


def _describe(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            error = response.get("error")
        except Exception:  # noqa: BLE001 - a response without .get
            error = None
        if error:
            status = getattr(response, "status_code", None)
            return f"Slack answered {error!r}" + (f" (HTTP {status})" if status else "")
    return f"{type(exc).__name__}: {exc}"


def web_client(token: str, base_url: str | None = None, timeout: int = 30) -> Any:
    """A ``slack_sdk.WebClient`` with retries on rate limits (Slack did not post) and connection
    errors — never a post whose request may have reached Slack (:func:`post_safe_retry`)."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    kwargs: dict[str, Any] = {"token": token, "timeout": timeout,
                              "retry_handlers": [post_safe_retry(max_retry_count=2),
                                                 RateLimitErrorRetryHandler(max_retry_count=2)]}
    base = base_url or os.environ.get(API_URL_ENV)
    if base:
        kwargs["base_url"] = base.rstrip("/") + "/"
    return WebClient(**kwargs)


def webhook_client(url: str, timeout: int = 30) -> Any:
    from slack_sdk.webhook import WebhookClient

    # no retry handlers (slack-sdk's default retries a connection error: a lost reply posts twice);
    # the outbox decides, knowing a webhook has no history to check
    return WebhookClient(url, timeout=timeout, retry_handlers=[])


class SlackSender:
    """Post with a bot token: ``chat.postMessage``, then the chart with ``files_upload_v2``."""

    def __init__(self, client: Any):
        self.client = client

    def post(self, channel: str, message: Message, key: str | None = None) -> Posted:
        """Post ``message``; ``key`` (its idempotency key) goes into the message's metadata."""
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"notification_id": key}} if key else None
        try:
            response = self.client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks,
                                                    unfurl_links=False, unfurl_media=False, metadata=metadata)
        except Exception as exc:  # noqa: BLE001 - SlackApiError, SlackRequestError, URLError, timeouts
            posted = _outcome(exc)
            unknown = " (the outcome is unknown: Slack may have posted it)" if posted is None else ""
            raise DeliveryError(f"chat.postMessage to {channel}: {_describe(exc)}{unknown}", "post",
                                posted) from exc
        return Posted(channel=response.get("channel") or channel, ts=response["ts"])

    def channel_id(self, channel: str) -> str:
        """A channel's id (conversations.history takes ids only): ``#name`` looked up with
        ``conversations.list`` (scope channels:read); an id or an unknown name is returned as given."""
        name = channel.lstrip("#")
        if channel.startswith(("C", "G", "D")) and channel.isupper() and channel.isalnum():
            return channel
        cursor = None
        for _ in range(20):
            try:
                response = self.client.conversations_list(types="public_channel,private_channel", limit=1000,
                                                          exclude_archived=True, cursor=cursor)
            except Exception:  # noqa: BLE001 - no channels:read: the history call says what is missing
                return channel
            for ch in response.get("channels") or []:
                if ch.get("name") == name:
                    return str(ch["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return channel

    def find_posted(self, channel: str, key: str, oldest: float) -> Posted | None:
        """The message carrying idempotency key ``key`` posted in ``channel`` since ``oldest`` (epoch
        seconds), from the channel's history; None when it is not there. Raises
        :class:`DeliveryError` when the history cannot be read (a bot without channels:history)."""
        cursor = None
        for _ in range(10):  # at most 1,000 messages back
            try:
                response = self.client.conversations_history(channel=channel, oldest=f"{oldest:.6f}", limit=100,
                                                             include_all_metadata=True, cursor=cursor)
            except Exception as exc:  # noqa: BLE001
                raise DeliveryError(f"conversations.history of {channel}: {_describe(exc)}", "history",
                                    None) from exc
            for msg in response.get("messages") or []:
                meta = msg.get("metadata") or {}
                if meta.get("event_type") == EVENT_TYPE and (meta.get("event_payload") or {}).get(
                        "notification_id") == key:
                    return Posted(channel=response.get("channel") or channel, ts=msg["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                return None
        return None

    def upload(self, channel_id: str, thread_ts: str | None, path: Path, title: str) -> list[str]:
        """Upload ``path`` into the message's thread; returns the file ids."""
        try:
            response = self.client.files_upload_v2(channel=channel_id, thread_ts=thread_ts, file=str(path),
                                                   filename=path.name, title=title,
                                                   alt_txt=title)
        except Exception as exc:  # noqa: BLE001
            raise DeliveryError(f"files_upload_v2 of {path.name}: {_describe(exc)}", "upload") from exc
        files = response.get("files") or []
        return [f["id"] for f in files if isinstance(f, dict) and f.get("id")]

    def upload_many(self, channel_id: str, thread_ts: str | None, files: list[tuple[Path, str]]) -> list[str]:
        """Upload several files into the message's thread in one ``files_upload_v2`` call (one
        ``files.completeUploadExternal``: all of them or none); returns the file ids."""
        if len(files) == 1:
            return self.upload(channel_id, thread_ts, *files[0])
        uploads = [{"file": str(p), "filename": p.name, "title": title} for p, title in files]
        try:
            response = self.client.files_upload_v2(channel=channel_id, thread_ts=thread_ts, file_uploads=uploads)
        except Exception as exc:  # noqa: BLE001
            raise DeliveryError(f"files_upload_v2 of {', '.join(p.name for p, _ in files)}: {_describe(exc)}",
                                "upload") from exc
        return [f["id"] for f in response.get("files") or [] if isinstance(f, dict) and f.get("id")]


class WebhookSender:
    """Post through an incoming webhook (its channel is fixed by Slack; no file upload)."""

    def __init__(self, client: Any):
        self.client = client

    def post(self, message: Message) -> None:
        try:
            response = self.client.send(text=message.text, blocks=message.blocks, unfurl_links=False)
        except Exception as exc:  # noqa: BLE001
            posted = _outcome(exc)
            unknown = " (the outcome is unknown: Slack may have posted it)" if posted is None else ""
            raise DeliveryError(f"incoming webhook: {_describe(exc)}{unknown}", "webhook", posted) from exc
        if response.status_code != 200:  # Slack answered: it did not post (only a lost answer is unknown)
            raise DeliveryError(f"incoming webhook answered HTTP {response.status_code}: {response.body}", "webhook",
                                False)
