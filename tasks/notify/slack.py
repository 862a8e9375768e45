"""Thin senders around slack-sdk: a bot (``WebClient``) or an incoming webhook (``WebhookClient``).

The client is injected, so tests hand in a real ``WebClient(base_url=…)`` pointed at a local fake
of Slack's Web API and production hands in one built by :func:`web_client`. A bot posts the message
with ``chat.postMessage`` and uploads the summary PNG into the message's thread with
``files_upload_v2`` (``files.getUploadURLExternal`` → upload → ``files.completeUploadExternal``),
so a run is one message in the channel, its chart one click away. A webhook can only post.

Every failure surfaces as :class:`DeliveryError` (the outbox keeps the summary and retries).
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


class DeliveryError(MachineryError):
    """Slack refused or could not be reached; ``stage`` says which step (post, upload, webhook)."""

    def __init__(self, message: str, stage: str):
        super().__init__(message)
        self.stage = stage


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
    """A ``slack_sdk.WebClient`` with retries on rate limits and connection errors."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

    kwargs: dict[str, Any] = {"token": token, "timeout": timeout,
                              "retry_handlers": [ConnectionErrorRetryHandler(max_retry_count=2),
                                                 RateLimitErrorRetryHandler(max_retry_count=2)]}
    base = base_url or os.environ.get(API_URL_ENV)
    if base:
        kwargs["base_url"] = base.rstrip("/") + "/"
    return WebClient(**kwargs)


def webhook_client(url: str, timeout: int = 30) -> Any:
    from slack_sdk.webhook import WebhookClient

    return WebhookClient(url, timeout=timeout)


class SlackSender:
    """Post with a bot token: ``chat.postMessage``, then the chart with ``files_upload_v2``."""

    def __init__(self, client: Any):
        self.client = client

    def post(self, channel: str, message: Message) -> Posted:
        try:
            response = self.client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks,
                                                    unfurl_links=False, unfurl_media=False)
        except Exception as exc:  # noqa: BLE001 - SlackApiError, SlackRequestError, URLError, timeouts
            raise DeliveryError(f"chat.postMessage to {channel}: {_describe(exc)}", "post") from exc
        return Posted(channel=response.get("channel") or channel, ts=response["ts"])

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
            raise DeliveryError(f"incoming webhook: {_describe(exc)}", "webhook") from exc
        if response.status_code != 200:
            raise DeliveryError(f"incoming webhook answered HTTP {response.status_code}: {response.body}", "webhook")
