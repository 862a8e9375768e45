"""The browser's egress guard: a loopback forward proxy that lets only the allow-list through.

Playwright's route interception does not see redirects: when an allowed page answers ``302
Location: http://127.0.0.2/…``, Chromium follows it inside its network stack, unrouted, and sends
the context's ``extra_http_headers`` (``Authorization``, secret headers) along. So every request of
a browser journey goes through this proxy instead (Playwright's per-context ``proxy``; Chromium
proxies loopback too, ``<-loopback>``): each request and each redirect hop arrives here with its
absolute URL (or as ``CONNECT host:port`` for HTTPS), and one whose host is not on the
environment's ``allow_hosts`` is answered ``403`` by the guard itself — it never leaves the machine,
nor do its headers — and reported (:attr:`EgressGuard.blocked`, ``on_blocked``).

Allowed requests are relayed as they are, one request per connection (``Connection: close``
upstream, so a response ends when the target closes; WebSocket upgrades are tunnelled), streaming
both ways with back-pressure: nothing a target sends is buffered here. A target that cannot be
reached is answered ``502`` with the reason in ``X-Perfcampaign-Egress``; the capture turns it back
into the network error it is.

    guard = EgressGuard(["127.0.0.1"], on_blocked=print)
    await guard.start()
    context = await browser.new_context(proxy={"server": guard.server})
    …
    await guard.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from campaigns.redact import redact_url

#: response header the guard sets on what it answers itself: ``blocked`` or ``upstream-failed: …``
MARKER = "X-Perfcampaign-Egress"
MAX_HEAD = 64 * 1024
HEAD_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0
_HOP_BY_HOP = ("connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te",
               "trailer", "upgrade")


@dataclass
class BlockedRequest:
    method: str
    url: str          # redacted
    host: str
    reason: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "host": self.host, "reason": self.reason}


class EgressGuard:
    """``allow_hosts``: hosts that may receive traffic. ``enforce=False`` lets every host through
    (campaign option ``block_outside_hosts: false``) but still reports the others."""

    def __init__(self, allow_hosts: list[str], *, enforce: bool = True,
                 on_blocked: Callable[[BlockedRequest], None] | None = None,
                 on_outside: Callable[[str, str], None] | None = None):
        self.allow = {h.lower().strip("[]") for h in allow_hosts}
        self.enforce = enforce
        self.on_blocked = on_blocked
        self.on_outside = on_outside
        self.blocked: list[BlockedRequest] = []
        self.relayed = 0
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.address: tuple[str, int] | None = None

    @property
    def server(self) -> str:
        assert self.address is not None, "start() the guard first"
        return f"http://{self.address[0]}:{self.address[1]}"

    def allowed(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allow

    async def start(self) -> EgressGuard:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=MAX_HEAD)
        self.address = self._server.sockets[0].getsockname()[:2]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        self._server = None

    async def __aenter__(self) -> EgressGuard:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    # -- one client connection: one request ---------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        except asyncio.LimitOverrunError:
            await _answer(writer, 431, "request head too large")
            return
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            await _answer(writer, 400, "bad request line")
            return
        if method.upper() == "CONNECT":
            host, _, port = target.rpartition(":")
            url = f"https://{target}/"
            if not await self._check(writer, method, url, host.strip("[]")):
                return
            await self._tunnel(reader, writer, host.strip("[]"), int(port or 443), method, url)
            return
        parts = urlsplit(target)
        if parts.scheme not in ("http", "ws") or not parts.hostname:
            self._block(method, target, parts.hostname or "", f"scheme {parts.scheme or '?'!r} is not proxied")
            await _answer(writer, 403, "blocked: only http(s) requests leave the browser", blocked=True)
            return
        if not await self._check(writer, method, target, parts.hostname):
            return
        try:
            port = parts.port or 80
        except ValueError:
            await _answer(writer, 400, "bad port")
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port),
                                                          CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            await _answer(writer, 502, _net_error(exc), upstream_failed=True)
            return
        origin = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        upgrade = any(line.lower().startswith("upgrade:") for line in lines[1:])
        kept = [line for line in lines[1:] if line and line.split(":", 1)[0].strip().lower() not in _HOP_BY_HOP]
        if upgrade:  # a WebSocket: keep its handshake headers, then tunnel
            kept += [line for line in lines[1:] if line.split(":", 1)[0].strip().lower() in ("upgrade", "connection")]
        else:
            kept.append("Connection: close")
        up_writer.write(("\r\n".join([f"{method} {origin} {version}", *kept]) + "\r\n\r\n").encode("latin-1"))
        self.relayed += 1
        await _relay(reader, writer, up_reader, up_writer)

    async def _check(self, writer: asyncio.StreamWriter, method: str, url: str, host: str) -> bool:
        if self.allowed(host):
            return True
        if not self.enforce:
            if self.on_outside is not None:
                self.on_outside(method, redact_url(url))
            return True
        self._block(method, url, host, "host outside the environment's allow_hosts")
        await _answer(writer, 403, f"blocked by perfcampaign: {host} is outside the environment's allow_hosts",
                      blocked=True)
        return False

    def _block(self, method: str, url: str, host: str, reason: str) -> None:
        item = BlockedRequest(method, redact_url(url), host, reason, time.time())
        self.blocked.append(item)
        if self.on_blocked is not None:
            self.on_blocked(item)

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int,
                      method: str, url: str) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            await _answer(writer, 502, _net_error(exc), upstream_failed=True)
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        self.relayed += 1
        await _relay(reader, writer, up_reader, up_writer)


def _net_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "net::ERR_CONNECTION_REFUSED"
    if isinstance(exc, TimeoutError):
        return "net::ERR_CONNECTION_TIMED_OUT"
    return f"net::ERR_CONNECTION_FAILED ({exc.strerror or type(exc).__name__})" if isinstance(exc, OSError) \
        else "net::ERR_CONNECTION_FAILED"


async def _answer(writer: asyncio.StreamWriter, status: int, text: str, *, blocked: bool = False,
                  upstream_failed: bool = False) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 431: "Request Header Fields Too Large",
              502: "Bad Gateway"}.get(status, "Error")
    body = text.encode()
    marker = "blocked" if blocked else f"upstream-failed: {text}" if upstream_failed else "error"
    writer.write((f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  f"Content-Length: {len(body)}\r\n{MARKER}: {marker}\r\nCache-Control: no-store\r\n"
                  f"Connection: close\r\n\r\n").encode("latin-1") + body)
    with contextlib.suppress(Exception):
        await writer.drain()


async def _relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                 up_r: asyncio.StreamReader, up_w: asyncio.StreamWriter) -> None:
    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await src.read(65536)
                if not data:
                    break
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                if dst.can_write_eof():
                    dst.write_eof()

    upstream = asyncio.ensure_future(pipe(up_r, client_w))
    client = asyncio.ensure_future(pipe(client_r, up_w))
    try:
        # over when the target closes (the response ended) or the browser hangs up (it gave up)
        await asyncio.wait({upstream, client}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (upstream, client):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(upstream, client, return_exceptions=True)
        with contextlib.suppress(Exception):
            up_w.close()
