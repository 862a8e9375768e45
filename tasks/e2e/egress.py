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
both ways with back-pressure: nothing a target sends is buffered here, and a response is cut after
``max_document_bytes`` for a document (default 2 MiB), ``max_response_bytes`` for anything else
(default 8 MiB), counted inflated for gzip/deflate/br bodies, and when it is still coming after
``deadline_s`` (the journey's navigation timeout). Chromium holds what it is sent: a page's text costs
it ~70 MB per MiB (an 8 MiB JSON page took 600 MB), an endless body or a gzip bomb gigabytes. An
HTTPS tunnel (``CONNECT``) cannot be read, so its connection is cut after 4 × ``max_response_bytes``.
What was cut is counted (:attr:`EgressGuard.truncated`, :attr:`EgressGuard.timed_out`,
:meth:`EgressGuard.summary`). A target that cannot be
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
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from campaigns.redact import redact_url

#: response header the guard sets on what it answers itself: ``blocked`` or ``upstream-failed: …``
MARKER = "X-Perfcampaign-Egress"
MAX_HEAD = 64 * 1024
#: most bytes relayed for one plain-HTTP response: a script or an image may be large, an endless body
#: is cut here (the browser sees a broken response) so neither Chromium nor the run grows without bound
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: the same for a document (a navigation, ``Accept: text/html``): Chromium takes ~70 MB per MiB of page
#: text (measured: 1 MiB +50 MB, 2 MiB +130 MB, 4 MiB +270 MB, 8 MiB +530 MB), and pages worth
#: measuring are far smaller (HTML documents of a few hundred KB)
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
#: an HTTPS tunnel carries several responses the guard cannot tell apart: its connection is cut here
TUNNEL_RESPONSES = 4
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
                 on_outside: Callable[[str, str], None] | None = None,
                 max_response_bytes: int = MAX_RESPONSE_BYTES, max_document_bytes: int = MAX_DOCUMENT_BYTES,
                 deadline_s: float | None = None):
        self.allow = {h.lower().strip("[]") for h in allow_hosts}
        self.enforce = enforce
        self.on_blocked = on_blocked
        self.on_outside = on_outside
        self.blocked: list[BlockedRequest] = []
        self.relayed = 0
        self.max_response_bytes = max_response_bytes
        self.max_document_bytes = min(max_document_bytes, max_response_bytes)
        #: a plain-HTTP response still coming after this many seconds is cut (None: no deadline)
        self.deadline_s = deadline_s
        #: responses cut at their byte cap (redacted URLs)
        self.truncated: list[str] = []
        #: responses cut at the deadline (redacted URLs)
        self.timed_out: list[str] = []
        #: bytes relayed to the browser (response heads and bodies, tunnels included)
        self.bytes_relayed = 0
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.address: tuple[str, int] | None = None

    @property
    def server(self) -> str:
        assert self.address is not None, "start() the guard first"
        return f"http://{self.address[0]}:{self.address[1]}"

    def summary(self) -> dict[str, Any]:
        """What the guard let through and what it cut, for the journey's document."""
        return {"requests": self.relayed, "bytes": self.bytes_relayed, "cut_at_cap": len(self.truncated),
                "cut_at_deadline": len(self.timed_out), "blocked": len(self.blocked),
                "max_document_bytes": self.max_document_bytes, "max_response_bytes": self.max_response_bytes,
                "deadline_s": self.deadline_s, "cut": (self.truncated + self.timed_out)[:20]}

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
        if not upgrade:
            document = any(line.lower().startswith("accept:") and "text/html" in line.lower() for line in lines[1:])
            cap = self.max_document_bytes if document else self.max_response_bytes
            cut = await _relay(reader, writer, up_reader, up_writer, cap, self.deadline_s, self._count)
            if cut == "cap":
                self.truncated.append(redact_url(target))
            elif cut == "deadline":
                self.timed_out.append(redact_url(target))
            return
        await _relay(reader, writer, up_reader, up_writer, count=self._count)

    def _count(self, n: int) -> None:
        self.bytes_relayed += n

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
        cut = await _relay(reader, writer, up_reader, up_writer, TUNNEL_RESPONSES * self.max_response_bytes,
                           count=self._count, tunnel=True)
        if cut == "cap":
            self.truncated.append(redact_url(url))


class ResponseMeter:
    """Counts what one HTTP/1.1 response will weigh in the browser: its bytes on the wire and, for
    ``gzip``/``deflate``/``br`` bodies, its inflated size (chunked framing undone), so a 0.5 MB gzip
    bomb that inflates to 512 MiB is cut like a 512 MiB body. ``feed`` returns True once over the cap.
    Inflating happens in 1 MiB steps (never the whole bomb at once); an encoding it cannot read is
    held to the wire bytes."""

    def __init__(self, cap: int, raw: bool = False):
        self.cap = cap
        self.raw = raw                # a TLS tunnel: bytes on the wire only
        self.wire = 0
        self.inflated = 0
        self.head = bytearray()
        self.in_body = False
        self.decoder: Any = None
        self.chunked = False
        self._chunk_left = 0          # bytes of chunk data still to come
        self._line = bytearray()      # a chunk-size line (or the CRLF after a chunk) being read
        self._after_data = False      # the CRLF after a chunk's data is next

    def feed(self, data: bytes) -> bool:
        self.wire += len(data)
        if self.wire > self.cap:
            return True
        if self.raw:
            return False
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > MAX_HEAD * 4:  # absurd headers: the wire count alone decides
                    self.in_body, self.head = True, bytearray()
                return False
            self._start(bytes(self.head[:end]).decode("latin-1"))
            data, self.in_body, self.head = bytes(self.head[end + 4:]), True, bytearray()
        if self.decoder is None:
            return False
        try:
            body = self._dechunk(data) if self.chunked else data
            return self._inflate(body)
        except Exception:  # noqa: BLE001 - a body that does not decode: the wire count decides
            self.decoder = None
            return False

    def _start(self, head: str) -> None:
        headers = {}
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        self.chunked = "chunked" in headers.get("transfer-encoding", "")
        encoding = headers.get("content-encoding", "")
        if encoding in ("gzip", "x-gzip"):
            self.decoder = ("zlib", zlib.decompressobj(zlib.MAX_WBITS | 16))
        elif encoding == "deflate":
            self.decoder = ("zlib", zlib.decompressobj())
        elif encoding == "br":
            try:
                import brotli

                self.decoder = ("br", brotli.Decompressor())
            except ImportError:
                self.decoder = None

    def _dechunk(self, data: bytes) -> bytes:
        out = bytearray()
        i = 0
        while i < len(data):
            if self._chunk_left:
                take = min(self._chunk_left, len(data) - i)
                out += data[i:i + take]
                self._chunk_left -= take
                i += take
                if not self._chunk_left:
                    self._after_data = True
                continue
            nl = data.find(b"\n", i)
            if nl < 0:
                self._line += data[i:]
                break
            self._line += data[i:nl]
            i = nl + 1
            line, self._line = bytes(self._line).strip(), bytearray()
            if self._after_data:
                self._after_data = False
                continue
            if line:
                self._chunk_left = int(line.split(b";")[0], 16)
        return bytes(out)

    def _inflate(self, body: bytes) -> bool:
        kind, decoder = self.decoder
        if kind == "br":  # in bounded steps: a brotli bomb never inflates past the cap in memory
            self.inflated += len(decoder.process(body, output_buffer_limit=1 << 20))
            while self.inflated <= self.cap and not decoder.can_accept_more_data():
                self.inflated += len(decoder.process(b"", output_buffer_limit=1 << 20))
            return self.inflated > self.cap
        pending = body
        while pending:
            self.inflated += len(decoder.decompress(pending, 1 << 20))
            if self.inflated > self.cap:
                return True
            pending = decoder.unconsumed_tail
            if decoder.eof:
                break
        return False


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
                 up_r: asyncio.StreamReader, up_w: asyncio.StreamWriter, limit: int | None = None,
                 deadline_s: float | None = None, count: Callable[[int], None] | None = None,
                 tunnel: bool = False) -> str | None:
    """Relay both ways until one side is done; ``"cap"`` when the response was cut at ``limit`` bytes,
    ``"deadline"`` when it was still coming after ``deadline_s``, else None."""
    cut: str | None = None

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, cap: int | None = None) -> None:
        nonlocal cut
        meter = ResponseMeter(cap, raw=tunnel) if cap is not None else None
        try:
            while True:
                data = await src.read(65536)
                if not data:
                    break
                if meter is not None and meter.feed(data):
                    cut = "cap"
                    dst.transport.abort()  # the browser sees a broken response, not a complete one
                    break
                dst.write(data)
                if meter is not None and count is not None:
                    count(len(data))
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                if dst.can_write_eof():
                    dst.write_eof()

    upstream = asyncio.ensure_future(pipe(up_r, client_w, limit))
    client = asyncio.ensure_future(pipe(client_r, up_w))
    try:
        # over when the target closes (the response ended) or the browser hangs up (it gave up)
        done, _ = await asyncio.wait({upstream, client}, timeout=deadline_s, return_when=asyncio.FIRST_COMPLETED)
        if not done:  # still coming at the deadline: the browser sees a broken response
            cut = "deadline"
            with contextlib.suppress(Exception):
                client_w.transport.abort()
    finally:
        for task in (upstream, client):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(upstream, client, return_exceptions=True)
        with contextlib.suppress(Exception):
            up_w.close()
    return cut
