"""A small HTTP/1.1 service on a uvloop thread, for the chaos tests (real sockets, loopback only).

Routes::

    GET  /ok                 200 {"ok": true, "path": "/ok"}
    GET  /path/<anything>    200 {"ok": true, "path": "<path>"}     (tells responses apart)
    GET  /sleep?ms=N         200 after N ms
    GET  /big?n=N            200 with N bytes (chunked when &chunked=1)
    POST /echo               200 with the request body
    GET  /close              200 then the server closes the connection
    GET  /dep                calls the dependency (GET /close at ``dep``); 200 when it answers, 503 when
                             it fails, and 503 at once while its circuit breaker is open (it opens after
                             ``breaker_failures`` failures in a row and stays open ``breaker_reset_s``)

``connections`` counts accepted connections, ``requests`` the requests seen (path, arrival time).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httptools


class Breaker:
    def __init__(self, failures: int, reset_s: float):
        self.failures_needed, self.reset_s = failures, reset_s
        self.failures = 0
        self.opened_at: float | None = None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        return time.monotonic() - self.opened_at >= self.reset_s  # half-open: one trial goes through

    def success(self) -> None:
        self.failures, self.opened_at = 0, None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.failures_needed or self.opened_at is not None:
            self.opened_at = time.monotonic()


class _Conn(asyncio.Protocol):
    def __init__(self, server: Backend):
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body = b""
        self.queue: asyncio.Queue = asyncio.Queue()
        self.worker: asyncio.Task | None = None

    def connection_made(self, transport):
        self.transport = transport
        self.server.connections += 1
        self.worker = asyncio.get_running_loop().create_task(self._work())

    def connection_lost(self, exc):
        if self.worker is not None:
            self.worker.cancel()

    def data_received(self, data):
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_begin(self):
        self.url, self.body = b"", b""

    def on_url(self, url):
        self.url += url

    def on_body(self, body):
        self.body += body

    def on_message_complete(self):
        method = self.parser.get_method().decode()
        self.server.requests.append((method, self.url.decode(), time.monotonic()))
        self.queue.put_nowait((method, self.url.decode(), self.body))

    async def _work(self):
        while True:
            method, url, body = await self.queue.get()
            status, payload, close, chunked = await self.server.route(method, url, body)
            if self.transport.is_closing():
                return
            if chunked:
                parts = [payload[i:i + 4096] for i in range(0, len(payload), 4096)]
                data = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
                head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            else:
                data = payload
                head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            if close:
                head += "Connection: close\r\n"
            self.transport.write(head.encode() + b"\r\n" + data)
            if close:
                self.transport.close()
                return


class Backend:
    """Run with ``with Backend() as b: b.url``."""

    def __init__(self, dep: str | None = None, breaker_failures: int = 3, breaker_reset_s: float = 1.5,
                 dep_timeout_s: float = 0.5):
        self.dep = dep
        self.breaker = Breaker(breaker_failures, breaker_reset_s)
        self.dep_timeout_s = dep_timeout_s
        self.connections = 0
        self.requests: list[tuple[str, str, float]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def route(self, method: str, url: str, body: bytes) -> tuple[int, bytes, bool, bool]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if path == "/sleep":
            await asyncio.sleep(float(query.get("ms", 0)) / 1000)
        if path == "/big":
            return 200, b"x" * int(query.get("n", 1000)), False, query.get("chunked") == "1"
        if path == "/echo":
            return 200, body, False, False
        if path == "/dep":
            return await self._dependency()
        return 200, json.dumps({"ok": True, "path": path}).encode(), path == "/close", False

    async def _dependency(self) -> tuple[int, bytes, bool, bool]:
        if not self.breaker.allow():
            return 503, b'{"detail": "dependency unavailable (breaker open)"}', False, False
        host, port = self.dep.rsplit(":", 1)  # type: ignore[union-attr]
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), self.dep_timeout_s)
            writer.write(b"GET /close HTTP/1.1\r\nHost: dep\r\nConnection: close\r\n\r\n")
            data = await asyncio.wait_for(reader.read(), self.dep_timeout_s)
            writer.close()
            ok = data.startswith(b"HTTP/1.1 200")
        except (OSError, asyncio.TimeoutError):
            ok = False
        if ok:
            self.breaker.success()
            return 200, b'{"ok": true, "dep": "ok"}', False, False
        self.breaker.failure()
        return 503, b'{"detail": "dependency failed"}', False, False

    def _main(self) -> None:
        import uvloop

        loop = uvloop.new_event_loop()
        self.loop = loop

        async def start():
            server = await loop.create_server(lambda: _Conn(self), "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            return server

        self.server = loop.run_until_complete(start())
        self._ready.set()
        loop.run_forever()
        self.server.close()
        loop.run_until_complete(self.server.wait_closed())
        loop.close()

    def __enter__(self) -> Backend:
        self.thread = threading.Thread(target=self._main, daemon=True, name="chaos-test-backend")
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test backend did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
