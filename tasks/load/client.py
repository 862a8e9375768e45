"""The hot path: an HTTP/1.1 keep-alive client as a bare ``asyncio.Protocol`` parsed by httptools.

No coroutine, future or timer is created per request. A :class:`Job` (one step of a flow, see
``flow``) asks the :class:`Pool` for a connection; the pool hands it an idle keep-alive
connection (last in, first out), opens a new one while under ``max_connections``, or queues the
job (first in, first out, bounded: a full queue refuses it and the caller counts a *dropped*
send). The connection writes pre-built request bytes and calls the job back when httptools says
the response is complete, or when the connection fails. Timeouts are enforced by one sweep every
100 ms over the open connections, not one timer per request. TLS, chunked bodies
(httptools de-chunks) and ``Connection: close`` are handled here.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httptools

from tasks.load.cookies import set_cookie_values
from tasks.load.errors import classify_connect, classify_lost

perf_counter = time.perf_counter


class Job(Protocol):
    """What a connection carries: the request bytes and the three callbacks."""

    data: bytes
    want_body: bool
    queued_at: float

    def on_response(self, status: int, now: float, t_sent: float, body: list[bytes] | None,
                    headers: dict[bytes, bytes] | None) -> None: ...

    def on_error(self, kind: str, now: float, sent: bool) -> None: ...

    def add_cookies(self, values: list[bytes]) -> None: ...


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int
    host_header: str
    base_path: str = ""
    verify_tls: bool = True
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str, verify_tls: bool = True, ca_file: str | None = None) -> Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL with a host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        default = (parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return cls(parts.scheme, parts.hostname, port, host if default else f"{host}:{port}",
                   parts.path.rstrip("/"), verify_tls, ca_file)

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.scheme != "https":
            return None
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


class Connection(asyncio.Protocol):
    """One keep-alive connection; httptools calls ``on_body``/``on_message_complete`` on it."""

    __slots__ = ("pool", "transport", "parser", "job", "t_sent", "body", "reused", "closed")
    headers: dict[bytes, bytes] | None = None  # HeaderConnection collects them

    def __init__(self, pool: Pool):
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.job: Job | None = None
        self.t_sent = 0.0
        self.body: list[bytes] | None = None
        self.reused = False
        self.closed = False

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail("protocol")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        job = self.job
        if job is not None:
            self.job = None
            job.on_error(classify_lost(exc), perf_counter(), True)
        self.pool._lost(self)

    # -- httptools callbacks -------------------------------------------------------------------
    def on_body(self, body: bytes) -> None:
        if self.body is not None:
            self.body.append(body)

    def on_message_complete(self) -> None:
        now = perf_counter()
        job = self.job
        if job is None:  # an answer nobody asked for: the connection is not trustworthy
            self._fail("protocol")
            return
        self.job = None
        status = self.parser.get_status_code()
        body, self.body = self.body, None
        headers = self.headers
        t_sent = self.t_sent
        # free the connection first: a queued job (or this job's next step) may take it at once
        if self.parser.should_keep_alive() and not self.closed:
            self.pool._release(self)
        else:
            self.close()
        job.on_response(status, now, t_sent, body, headers)

    # -- used by the pool and the jobs ---------------------------------------------------------
    def send(self, job: Job) -> None:
        self.job = job
        self.body = [] if job.want_body else None
        self.t_sent = perf_counter()
        self.transport.write(job.data)  # type: ignore[union-attr]

    def _fail(self, kind: str) -> None:
        job = self.job
        self.job = None
        if job is not None:
            job.on_error(kind, perf_counter(), True)
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.abort()
            self.pool._lost(self)


class CookieConnection(Connection):
    """A connection that hands ``Set-Cookie`` values to its job (the virtual user's cookie jar).

    The cost when no cookie arrives is one substring search per chunk received: httptools calls no
    per-header callback here (``HeaderConnection`` does, when headers are needed anyway)."""

    __slots__ = ()

    def data_received(self, data: bytes) -> None:
        if (b"ookie" in data or b"OOKIE" in data) and self.job is not None:
            values = set_cookie_values(data)
            if values:
                self.job.add_cookies(values)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail("protocol")


class HeaderConnection(Connection):
    """A connection that also collects response headers (for content-type expectations), and hands
    ``Set-Cookie`` values to its job when the pool keeps cookies."""

    __slots__ = ("headers",)

    def __init__(self, pool: Pool):
        super().__init__(pool)
        self.headers: dict[bytes, bytes] = {}

    def on_message_begin(self) -> None:
        self.headers = {}

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.lower()
        self.headers[key] = value
        if key == b"set-cookie" and self.pool.cookies and self.job is not None:
            self.job.add_cookies([value])


class Pool:
    """Connections to one origin: idle LIFO, bounded total, bounded FIFO queue of waiting jobs."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin, max_connections: int,
                 timeout: float, connect_timeout: float, max_queue: int, with_headers: bool = False,
                 cookies: bool = False):
        self.loop = loop
        self.origin = origin
        self.max_connections = max(1, max_connections)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_queue = max_queue
        self.cookies = cookies
        self.conn_cls = HeaderConnection if with_headers else CookieConnection if cookies else Connection
        self.ssl = origin.ssl_context()
        self.idle: list[Connection] = []
        self.all: set[Connection] = set()
        self.queue: deque[Job] = deque()
        self.connecting: dict[asyncio.Future[Any], float] = {}
        self.opened = 0  # connections opened over the run (keep-alive reuse shows as few)
        self.connect_failures = 0
        self.closing = False

    @property
    def in_flight(self) -> int:
        return sum(1 for c in self.all if c.job is not None)

    def submit(self, job: Job, droppable: bool = False) -> bool:
        """Send ``job`` now or queue it; False when a droppable job found the queue full."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                conn.reused = True
                conn.send(job)
                return True
        if droppable and len(self.queue) >= self.max_queue:
            return False
        job.queued_at = perf_counter()
        self.queue.append(job)
        if len(self.all) + len(self.connecting) < self.max_connections and len(self.connecting) < len(self.queue):
            self._open()
        return True

    def _open(self) -> None:
        task = self.loop.create_task(self._connect())
        self.connecting[task] = perf_counter()

    async def _connect(self) -> None:
        o = self.origin
        task = asyncio.current_task()
        try:
            _, conn = await self.loop.create_connection(
                lambda: self.conn_cls(self), o.host, o.port, ssl=self.ssl,
                server_hostname=o.host if self.ssl else None)
        except (asyncio.CancelledError, OSError, ssl.SSLError) as exc:
            self.connecting.pop(task, None)  # type: ignore[arg-type]
            if not self.closing:
                kind = "connect_timeout" if isinstance(exc, asyncio.CancelledError) else classify_connect(exc)
                self._connect_failed(kind)
            return
        self.connecting.pop(task, None)  # type: ignore[arg-type]
        self.opened += 1
        if self.closing:
            conn.close()
            return
        self.all.add(conn)
        self._release(conn)

    def _connect_failed(self, kind: str) -> None:
        self.connect_failures += 1
        if self.queue:
            job = self.queue.popleft()
            job.on_error(kind, perf_counter(), False)
        if self.queue and not self.closing and len(self.all) + len(self.connecting) < self.max_connections:
            self._open()

    def _release(self, conn: Connection) -> None:
        if self.queue:
            conn.send(self.queue.popleft())
        else:
            self.idle.append(conn)

    def _lost(self, conn: Connection) -> None:
        self.all.discard(conn)
        if self.queue and not self.closing and len(self.all) + len(self.connecting) < self.max_connections:
            self._open()

    def sweep(self, now: float) -> None:
        """Fail requests past the timeout, queued jobs waiting longer than it, slow connects."""
        limit = now - self.timeout
        for conn in [c for c in self.all if c.job is not None and c.t_sent < limit]:
            conn._fail("timeout")
        queue = self.queue
        while queue and queue[0].queued_at < limit:
            queue.popleft().on_error("timeout", now, False)
        climit = now - self.connect_timeout
        for task, started in list(self.connecting.items()):
            if started < climit:
                task.cancel()

    def close(self) -> None:
        self.closing = True
        for task in list(self.connecting):
            task.cancel()
        for conn in list(self.all):
            conn.close()
        self.idle.clear()
