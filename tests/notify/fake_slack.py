"""A local fake of Slack's Web API, for the real ``slack_sdk.WebClient(base_url=…)`` to talk to.

It implements what perfcampaign calls, the way Slack answers (HTTP 200 with ``{"ok": false,
"error": …}`` for API errors, as Slack does):

- ``auth.test``; ``chat.postMessage`` (JSON body): the token, the channel, text or blocks, and Block
  Kit's limits, checked here independently of the formatter (``invalid_blocks`` with the reasons);
- ``files.getUploadURLExternal`` (form body) → an upload URL on this same loopback server;
  ``POST /upload/<file id>`` takes the bytes (the declared length must match);
  ``files.completeUploadExternal`` shares the uploaded files into a channel / thread;
- an incoming webhook at ``/services/T000/B000/<secret>`` (JSON body; ``invalid_blocks`` → HTTP 400).

- ``conversations.history`` (newest first; message ``metadata`` with ``include_all_metadata``),
  refused with ``missing_scope`` when ``history_scope`` is False (a bot without channels:history).

``fail(method, error, times, status)`` makes the next calls of a method fail; ``calls`` records
every call with its method and payload; ``messages`` and ``files`` hold what was delivered.

:class:`LossyProxy` sits between a client and the fake and *loses replies*: the request reaches
Slack (the message is posted) and the answer never comes back (the connection is reset) — the case
where a blind retry posts twice.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

VALID_TOKEN = "xoxb-test-token"
WEBHOOK_PATH = "/services/T000/B000/secret-webhook"
BLOCK_TYPES = {"section", "header", "divider", "context", "actions", "image", "rich_text", "input", "file", "video"}


def block_problems(blocks: Any) -> list[str]:
    """Block Kit's documented limits (https://api.slack.com/reference/block-kit/blocks)."""
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    problems = []
    if len(blocks) > 50:
        problems.append(f"too many blocks: {len(blocks)} > 50")
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            problems.append(f"[{i}] unknown block type {kind!r}")
            continue
        text = block.get("text")
        if kind == "header":
            if not text or text.get("type") != "plain_text":
                problems.append(f"[{i}] a header needs plain_text")
            elif len(text.get("text", "")) > 150:
                problems.append(f"[{i}] header text longer than 150")
        if kind == "section":
            fields = block.get("fields")
            if not text and not fields:
                problems.append(f"[{i}] a section needs text or fields")
            if text:
                if text.get("type") not in ("mrkdwn", "plain_text"):
                    problems.append(f"[{i}] bad text type")
                if not 1 <= len(text.get("text", "")) <= 3000:
                    problems.append(f"[{i}] section text must be 1..3000 characters")
            if fields:
                if len(fields) > 10:
                    problems.append(f"[{i}] more than 10 fields")
                for j, f in enumerate(fields):
                    if len(f.get("text", "")) > 2000:
                        problems.append(f"[{i}] field {j} longer than 2000")
        if kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 10:
                problems.append(f"[{i}] a context has 1..10 elements")
        if kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 25:
                problems.append(f"[{i}] an actions block has 1..25 elements")
            for e in elements:
                if e.get("type") == "button":
                    if len(e.get("text", {}).get("text", "")) > 75:
                        problems.append(f"[{i}] button text longer than 75")
                    url = e.get("url")
                    if url is not None and (len(url) > 3000 or not url.startswith(("http://", "https://"))):
                        problems.append(f"[{i}] button url must be http(s) and at most 3000 characters")
    return problems


@dataclass
class FakeSlack:
    base_url: str = ""
    channels: dict[str, str] = field(default_factory=dict)      # name or id → id
    calls: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook_posts: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    history_scope: bool = True

    def reset(self) -> None:
        self.history_scope = True
        self.channels.clear()
        self.calls.clear()
        self.messages.clear()
        self.files.clear()
        self.webhook_posts.clear()
        self.failures.clear()

    def fail(self, method: str, error: str = "service_unavailable", times: int = 1, status: int = 200) -> None:
        self.failures.setdefault(method, []).extend([(error, status)] * times)

    def count(self, method: str) -> int:
        return sum(1 for c in self.calls if c["method"] == method)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{WEBHOOK_PATH}"

    def channel_id(self, name: str) -> str:
        if name.startswith(("C", "G")) and name.isupper():
            self.channels.setdefault(name, name)
            return name
        key = name.lstrip("#")
        return self.channels.setdefault(name, "C" + key.upper().replace("-", "")[:9].ljust(9, "0"))


def create_fake_slack(fake: FakeSlack) -> FastAPI:
    app = FastAPI()
    ts_counter = itertools.count(1)
    file_counter = itertools.count(1)

    def error(message: str, status: int = 200, **extra: Any) -> JSONResponse:
        return JSONResponse({"ok": False, "error": message, **extra}, status_code=status)

    async def payload(request: Request) -> dict[str, Any]:
        if request.method == "GET":  # slack-sdk sends some methods (conversations.history) as GET
            return dict(request.query_params)
        body = await request.body()
        kind = request.headers.get("content-type", "")
        if "application/json" in kind:
            return json.loads(body or b"{}")
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}

    def authorised(request: Request, data: dict[str, Any]) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header else data.get("token")
        if not token:
            return error("not_authed")
        if token != VALID_TOKEN:
            return error("invalid_auth")
        return None

    async def begin(method: str, request: Request) -> tuple[dict[str, Any], JSONResponse | None]:
        data = await payload(request)
        fake.calls.append({"method": method, "payload": data})
        denied = authorised(request, data)
        if denied is not None:
            return data, denied
        queued = fake.failures.get(method)
        if queued:
            err, status = queued.pop(0)
            return data, error(err, status)
        return data, None

    @app.post("/api/auth.test")
    async def auth_test(request: Request):
        _, denied = await begin("auth.test", request)
        return denied or {"ok": True, "team": "perf", "user": "perfcampaign", "bot_id": "B0PERF"}

    @app.post("/api/chat.postMessage")
    async def post_message(request: Request):
        data, denied = await begin("chat.postMessage", request)
        if denied:
            return denied
        channel = data.get("channel")
        if not channel:
            return error("channel_not_found")
        blocks = data.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not data.get("text") and not blocks:
            return error("no_text")
        if blocks is not None:
            problems = block_problems(blocks)
            if problems:
                return error("invalid_blocks", errors=problems)
        metadata = data.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata is not None and not (isinstance(metadata, dict) and metadata.get("event_type")
                                         and isinstance(metadata.get("event_payload"), dict)):
            return error("invalid_metadata_format")
        ts = f"{int(time.time())}.{next(ts_counter):06d}"  # Slack's ts: epoch seconds, unique in the channel
        cid = fake.channel_id(channel)
        fake.messages.append({"channel": cid, "channel_name": channel, "ts": ts, "text": data.get("text"),
                              "blocks": blocks, "thread_ts": data.get("thread_ts"), "metadata": metadata})
        return {"ok": True, "channel": cid, "ts": ts, "message": {"text": data.get("text"), "ts": ts}}

    @app.api_route("/api/conversations.list", methods=["GET", "POST"])
    async def conversation_list(request: Request):
        _, denied = await begin("conversations.list", request)
        if denied:
            return denied
        names = {cid: name.lstrip("#") for name, cid in fake.channels.items() if name != cid}
        return {"ok": True, "channels": [{"id": cid, "name": name} for cid, name in names.items()],
                "response_metadata": {"next_cursor": ""}}

    @app.api_route("/api/conversations.history", methods=["GET", "POST"])
    async def history(request: Request):
        data, denied = await begin("conversations.history", request)
        if denied:
            return denied
        if not fake.history_scope:
            return error("missing_scope", needed="channels:history", provided="chat:write,files:write")
        channel = data.get("channel")
        cid = fake.channels.get(channel) or (channel if channel in fake.channels.values() else None)
        if cid is None:
            return error("channel_not_found")
        oldest = float(data.get("oldest") or 0)
        limit = int(data.get("limit") or 100)
        with_meta = str(data.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [m for m in reversed(fake.messages) if m["channel"] == cid and float(m["ts"]) >= oldest
                 and not m.get("thread_ts")][:limit]
        return {"ok": True, "has_more": False, "messages": [
            {"type": "message", "ts": m["ts"], "text": m["text"],
             **({"metadata": m["metadata"]} if with_meta and m.get("metadata") else {})} for m in found]}

    @app.post("/api/files.getUploadURLExternal")
    async def upload_url(request: Request):
        data, denied = await begin("files.getUploadURLExternal", request)
        if denied:
            return denied
        try:
            length = int(data.get("length", 0))
        except ValueError:
            length = 0
        if not data.get("filename") or length <= 0:
            return error("invalid_arguments")
        fid = f"F{next(file_counter):08d}"
        fake.files[fid] = {"id": fid, "filename": data["filename"], "length": length, "alt_txt": data.get("alt_txt"),
                           "content": None, "shared": []}
        return {"ok": True, "upload_url": f"{fake.base_url}/upload/{fid}", "file_id": fid}

    @app.post("/upload/{fid}")
    async def upload(fid: str, request: Request):
        body = await request.body()
        fake.calls.append({"method": "upload", "payload": {"file_id": fid, "bytes": len(body)}})
        if fid not in fake.files:
            return PlainTextResponse("unknown file", status_code=404)
        if len(body) != fake.files[fid]["length"]:
            return PlainTextResponse("length mismatch", status_code=400)
        fake.files[fid]["content"] = body
        return PlainTextResponse(f"OK - {len(body)}")

    @app.post("/api/files.completeUploadExternal")
    async def complete(request: Request):
        data, denied = await begin("files.completeUploadExternal", request)
        if denied:
            return denied
        try:
            files = json.loads(data.get("files", "[]"))
        except ValueError:
            return error("invalid_arguments")
        out = []
        for f in files:
            known = fake.files.get(f.get("id"))
            if known is None or known["content"] is None:
                return error("file_not_found")
            thread = data.get("thread_ts")
            if thread and not any(m["ts"] == thread for m in fake.messages):
                return error("invalid_thread_ts")
            channel = data.get("channel_id")
            if channel and channel not in fake.channels.values():
                return error("channel_not_found")
            known.update(title=f.get("title"), shared=[*known["shared"], {"channel": channel, "thread_ts": thread}])
            out.append({"id": known["id"], "title": known["title"], "name": known["filename"]})
        return {"ok": True, "files": out}

    @app.post(WEBHOOK_PATH)
    async def webhook(request: Request):
        data = json.loads(await request.body() or b"{}")
        fake.calls.append({"method": "webhook", "payload": data})
        queued = fake.failures.get("webhook")
        if queued:
            err, status = queued.pop(0)
            return PlainTextResponse(err, status_code=status if status != 200 else 500)
        if not data.get("text") and not data.get("blocks"):
            return PlainTextResponse("no_text", status_code=400)
        if data.get("blocks") is not None and block_problems(data["blocks"]):
            return PlainTextResponse("invalid_blocks", status_code=400)
        fake.webhook_posts.append(data)
        return PlainTextResponse("ok")

    @app.get("/_fake/state")
    async def state():
        """What was delivered (for a person watching a demo run against the fake)."""
        return {"messages": fake.messages, "webhook_posts": fake.webhook_posts,
                "files": [{k: v for k, v in f.items() if k != "content"} | {"bytes": len(f["content"] or b"")}
                          for f in fake.files.values()],
                "calls": [c["method"] for c in fake.calls]}

    return app


class LossyProxy:
    """A loopback HTTP proxy in front of the fake that loses the replies to some calls: the request
    goes through (Slack acts on it) and the client's connection is reset instead of answered.

    ``lose("chat.postMessage", times=1)``; ``seen`` counts the requests per API method that passed."""

    def __init__(self, upstream: str):
        import socket
        import threading
        from urllib.parse import urlsplit

        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.seen: dict[str, int] = {}
        self.lost: dict[str, int] = {}
        self._losing: dict[str, int] = {}
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def lose(self, method: str, times: int = 1) -> None:
        self._losing[method] = self._losing.get(method, 0) + times

    def __enter__(self) -> LossyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        import socket
        import threading

        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_message(sock: Any) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def _handle(self, conn: Any) -> None:
        import socket
        import struct

        with conn:
            request = self._read_message(conn)
            if not request:
                return
            target = request.split(b" ", 2)[1].decode("latin-1") if request.count(b" ") >= 2 else ""
            method = target.split("?", 1)[0].rsplit("/", 1)[-1]
            # the upstream answers with the same framing; ask it to close after answering
            request = request.replace(b"Connection: keep-alive", b"Connection: close")
            with socket.create_connection(self.upstream) as up:
                up.sendall(request)
                response = self._read_message(up)
            self.seen[method] = self.seen.get(method, 0) + 1
            if self._losing.get(method):
                self._losing[method] -= 1
                self.lost[method] = self.lost.get(method, 0) + 1
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return  # closed with a reset: the reply is lost
            conn.sendall(response)
