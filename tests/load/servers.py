"""Loopback HTTP servers for the load tests: real sockets, no mocks.

:class:`TestServer` runs a uvloop server in a background thread with routes that exercise the
client (keep-alive, chunked bodies, JSON for captures, slow and hung answers, resets, closes,
statuses) and can stall its whole event loop periodically (coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httptools
import uvloop


def _response(status: int, body: bytes, ctype: str = "text/plain", extra: str = "") -> bytes:
    reason = {200: "OK", 201: "Created", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error",
              503: "Service Unavailable"}.get(status, "Status")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            ).encode() + body


def _chunked(parts: list[bytes], ctype: str = "application/json") -> bytes:
    out = f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    for p in parts:
        out += f"{len(p):x}\r\n".encode() + p + b"\r\n"
    return out + b"0\r\n\r\n"


class _Proto(asyncio.Protocol):
    def __init__(self, server: TestServer):
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections += 1

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()  # type: ignore[union-attr]

    def on_message_begin(self) -> None:
        self.url, self.headers, self.body = b"", {}, b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode()
        self.server.handle(self, method, self.url.decode(), dict(self.headers), self.body)

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


class TestServer:
    __test__ = False

    def __init__(self, tls: ssl.SSLContext | None = None, stall_every: float = 0.0, stall_for: float = 0.0):
        self.tls = tls
        self.stall_every, self.stall_for = stall_every, stall_for
        self.connections = 0
        self.hits: Counter[str] = Counter()
        self.seen: list[dict[str, Any]] = []   # (path, headers, body) of requests to /echo-ish routes
        self.loop = uvloop.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.stalls: list[float] = []
        self.recent: list[float] = []

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> TestServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test server did not start")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self._server = await self.loop.create_server(lambda: _Proto(self), "127.0.0.1", 0, ssl=self.tls,
                                                         backlog=2048)
            self.port = self._server.sockets[0].getsockname()[1]
            if self.stall_every > 0:
                self.loop.call_later(self.stall_every, self._stall)

        self.loop.run_until_complete(start())
        self._ready.set()
        self.loop.run_forever()
        self._server.close()  # type: ignore[union-attr]
        self.loop.close()

    def _stall(self) -> None:
        self.stalls.append(time.perf_counter())
        time.sleep(self.stall_for)  # the whole loop freezes, as a GC pause or a blocked worker would
        self.loop.call_later(self.stall_every, self._stall)

    # -- routes ------------------------------------------------------------------------------------
    def handle(self, proto: _Proto, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        parts = urlsplit(url)
        path, query = parts.path, parse_qs(parts.query)
        self.hits[path] += 1
        if path in ("/ok", "/"):
            proto.send(_response(200, b"ok"))
        elif path == "/chunked":
            items = [{"id": i, "name": f"item-{i}"} for i in range(50)]
            doc = json.dumps({"items": items, "count": len(items)}).encode()
            proto.send(_chunked([doc[i:i + 97] for i in range(0, len(doc), 97)]))
        elif path == "/json":
            proto.send(_response(200, json.dumps({"id": 7, "name": "seven", "tags": ["a", "b"]}).encode(),
                                 "application/json"))
        elif path == "/slow":
            ms = float(query.get("ms", ["100"])[0])
            self.loop.call_later(ms / 1000, proto.send, _response(200, b"slow"))
        elif path == "/hang":
            pass
        elif path == "/one-shot":  # answers, then closes: HTTP/1.1 "Connection: close"
            proto.send(_response(200, b"bye", extra="Connection: close\r\n"))
            proto.transport.close()  # type: ignore[union-attr]
        elif path == "/close":
            proto.transport.close()  # type: ignore[union-attr]
        elif path == "/reset":
            sock = proto.transport.get_extra_info("socket")  # type: ignore[union-attr]
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            proto.transport.abort()  # type: ignore[union-attr]
        elif path == "/limited":
            # a rate limiter: 503 once more than `per_second` requests arrived in the last second
            now = time.monotonic()
            window = self.recent
            window.append(now)
            while window and window[0] < now - 1.0:
                window.pop(0)
            limit = int(query.get("per_second", ["100"])[0])
            proto.send(_response(200 if len(window) <= limit else 503, b"limited"))
        elif path == "/garbage":
            proto.send(b"NOT HTTP AT ALL\r\n\r\n")
        elif path.startswith("/status/"):
            proto.send(_response(int(path.rsplit("/", 1)[1]), b"status"))
        elif path == "/auth/sign-in" and method == "POST":
            doc = json.loads(body or b"{}")
            self.seen.append({"path": path, "body": doc})
            proto.send(_response(200, json.dumps({"token": f"tok-{doc.get('email')}"}).encode(), "application/json"))
        elif path == "/me":
            auth = headers.get("authorization", "")
            self.seen.append({"path": path, "authorization": auth})
            ok = auth.startswith("Bearer tok-")
            proto.send(_response(200 if ok else 401, json.dumps({"who": auth[11:]}).encode(), "application/json"))
        elif path.startswith("/api/products/"):
            self.seen.append({"path": path})
            proto.send(_response(200, json.dumps({"id": path.rsplit("/", 1)[1]}).encode(), "application/json"))
        elif path == "/api/orders" and method == "POST":
            proto.send(_response(201, body or b"{}", "application/json"))
        else:
            proto.send(_response(404, b"not found"))


def self_signed(tmp_path: Any) -> tuple[ssl.SSLContext, str]:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1, and its PEM path."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path = tmp_path / "cert.pem"
    key_path = tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    return ctx, str(cert_path)
