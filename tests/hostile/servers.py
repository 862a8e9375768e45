"""Hostile HTTP servers on loopback: targets that misbehave the way real ones do, for tests and benches.

One :class:`HostileServer` answers by path (``/ok`` behaves; every other path misbehaves):

=====================  ==============================================================================
path                   behaviour
=====================  ==============================================================================
``/ok``                200 JSON with Content-Length, keep-alive (the well-behaved control)
``/endless``           200, chunked, 64 KiB chunks forever
``/big``               200, ``Content-Length`` 200 MB, sent as fast as the client reads
``/trickle``           200, ``Content-Length`` 1000, one byte every 200 ms (200 s in all)
``/slow-headers``      the status line, then one header byte per second, forever
``/hang``              reads the request, never answers
``/reset``             reads the request, then resets the connection (RST)
``/garbage``           answers 4 KiB of random bytes (no HTTP), then closes
``/half-close``        headers say 1000 bytes, 10 are sent, then the server shuts its side (FIN) and
                       keeps the socket open
``/wrong-length``      headers say 1000 bytes, 10 are sent, then the connection closes
``/huge-headers``      200 with 20,000 headers of 512 bytes (10 MB of headers)
``/gzip-bomb``         200, ``Content-Encoding: gzip``, 0.5 MB that inflates to 512 MiB
``/brotli-bomb``       200, ``Content-Encoding: br``, about 100 KB that inflates to 512 MiB
``/deep-json``         200, ``[[[…]]]`` nested 100,000 deep (``json.loads`` raises ``RecursionError``)
``/bad-unicode``       200 JSON whose keys and strings hold lone surrogates (``"\\ud800"``) and NUL
``/huge-number``       200 JSON whose ``id`` is an integer of 20,000 digits
``/bad-location``      201 (any method) with ``Location: http://[::1:bad/x`` (urllib raises ``ValueError``)
``/redirect-out``      302 to ``redirect_to`` (another host, e.g. the :class:`Recorder` on 127.0.0.2)
``/redirect-loop``     302 to itself
``/page-redirect-out`` an HTML page whose image, fetch and link go to ``/redirect-out``
``/page-js-out``       an HTML page whose script sets ``location`` to ``redirect_to``
``/page-heavy``        an HTML page (ready at once) whose scripts ``fetch`` ``/big`` and ``/endless``
                       and whose image is ``/gzip-bomb``: sub-resources no browser should swallow
=====================  ==============================================================================

Any path may carry a query (``/endless?x=1``); ``/ok`` also answers POST/PUT/PATCH/DELETE. Every
request is recorded (``requests``). The server runs on its own threads (never on the event loop of
the code under test) and can run as a separate process to be killed mid-run::

    python -m tests.hostile.servers --port 0            # prints {"url": ...} once listening

:class:`Recorder` listens on another loopback address (127.0.0.2 by default, a host no allow-list
of the tests names) and records every request it gets, with headers: a test asserts it got none.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

BEHAVIOURS = ("endless", "big", "trickle", "slow-headers", "hang", "reset", "garbage", "half-close",
              "wrong-length", "huge-headers", "gzip-bomb", "brotli-bomb", "deep-json", "bad-unicode", "huge-number",
              "bad-location", "redirect-out", "redirect-loop")
BIG_BYTES = 200 * 1024 * 1024
_BOMB: bytes | None = None
_BOMB_LOCK = threading.Lock()


def gzip_bomb() -> bytes:
    """512 MiB of zeros as one gzip member (about 0.5 MB), built once per process (~2 s)."""
    global _BOMB
    with _BOMB_LOCK:
        if _BOMB is None:
            comp = zlib.compressobj(6, zlib.DEFLATED, 31)
            block = b"\0" * (1 << 22)
            parts = [comp.compress(block) for _ in range(128)]
            parts.append(comp.flush())
            _BOMB = b"".join(parts)
        return _BOMB


def brotli_bomb() -> bytes:
    """512 MiB of zeros, brotli-compressed (a few hundred bytes), built once per process."""
    global _BROTLI
    with _BOMB_LOCK:
        if _BROTLI is None:
            import brotli

            comp = brotli.Compressor(quality=1)
            block = b"\0" * (1 << 22)
            _BROTLI = b"".join([comp.process(block) for _ in range(128)] + [comp.finish()])
        return _BROTLI


_BROTLI: bytes | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.time)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], handler: type, owner: Any):
        self.owner = owner
        super().__init__(address, handler)


def _read_request(sock_file: Any) -> tuple[str, str, dict[str, str], bytes] | None:
    line = sock_file.readline(65537)
    if not line:
        return None
    try:
        method, target, _ = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    except ValueError:
        return None
    headers: dict[str, str] = {}
    while True:
        h = sock_file.readline(65537)
        if not h or h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    body = b""
    length = headers.get("content-length")
    if length and length.isdigit() and int(length) <= 1 << 20:
        body = sock_file.read(int(length))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = sock_file.readline(1024)
            try:
                size = int(size_line.strip().split(b";")[0], 16)
            except ValueError:
                break
            chunk = sock_file.read(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    return method, target, headers, body


class _Handler(socketserver.StreamRequestHandler):
    timeout = 600

    def handle(self) -> None:
        owner: HostileServer = self.server.owner  # type: ignore[attr-defined]
        try:
            while True:
                got = _read_request(self.rfile)
                if got is None:
                    return
                method, target, headers, _ = got
                owner.requests.append(Seen(method, target, headers))
                path = target.split("?", 1)[0]
                name = path.strip("/").split("/", 1)[0] or "ok"
                behave = getattr(owner, "do_" + name.replace("-", "_"), None)
                if behave is None:
                    self._send(404, b'{"error": "not found"}')
                    continue
                keep = behave(self, method, target, headers)
                if not keep:
                    return
        except (ConnectionError, OSError, ValueError):
            return

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
              reason: str = "OK") -> None:
        headers = {"Content-Type": "application/json", **(headers or {})}
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()


class HostileServer:
    """``with HostileServer() as server: server.url + "/endless"``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, redirect_to: str | None = None):
        self.requests: list[Seen] = []
        self.redirect_to = redirect_to or "http://127.0.0.2:9/stolen"
        self._server = _Server((host, port), _Handler, self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HostileServer:
        threading.Thread(target=gzip_bomb, daemon=True).start()  # ready before a client asks for it
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def hits(self, behaviour: str) -> int:
        return sum(1 for r in self.requests if r.path.split("?", 1)[0].strip("/").startswith(behaviour))

    # -- behaviours: return True to keep the connection for the next request --------------------------
    def do_ok(self, h: _Handler, method: str, target: str, headers: dict[str, str]) -> bool:
        body = json.dumps({"ok": True, "id": 1, "items": [{"id": 1, "name": "Widget"}], "method": method}).encode()
        h._send(201 if method == "POST" else 200, body)
        return headers.get("connection", "").lower() != "close"

    def do_endless(self, h: _Handler, *_: Any) -> bool:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
        while not self._stop.is_set():
            h.wfile.write(chunk)
        return False

    def do_big(self, h: _Handler, *_: Any) -> bool:
        h.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {BIG_BYTES}\r\n\r\n"
                      .encode())
        block = b"0" * (1 << 20)
        for _ in range(BIG_BYTES // len(block)):
            if self._stop.is_set():
                break
            h.wfile.write(block)
        return False

    def do_trickle(self, h: _Handler, *_: Any) -> bool:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        h.wfile.flush()
        for _ in range(1000):
            if self._stop.wait(0.2):
                break
            h.wfile.write(b" ")
            h.wfile.flush()
        return False

    def do_slow_headers(self, h: _Handler, *_: Any) -> bool:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        h.wfile.flush()
        while not self._stop.wait(1.0):
            h.wfile.write(b"X")
            h.wfile.flush()
        return False

    def do_hang(self, h: _Handler, *_: Any) -> bool:
        self._stop.wait(600)
        return False

    def do_reset(self, h: _Handler, *_: Any) -> bool:
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
        return False

    def do_garbage(self, h: _Handler, *_: Any) -> bool:
        h.wfile.write(os.urandom(4096))
        h.wfile.flush()
        return False

    def do_half_close(self, h: _Handler, *_: Any) -> bool:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b"{" * 10)
        h.wfile.flush()
        h.connection.shutdown(socket.SHUT_WR)
        self._stop.wait(600)
        return False

    def do_wrong_length(self, h: _Handler, *_: Any) -> bool:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b"{" * 10)
        h.wfile.flush()
        return False

    def do_huge_headers(self, h: _Handler, *_: Any) -> bool:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        line = b"X-Filler-%d: " + b"f" * 500 + b"\r\n"
        for i in range(20_000):
            if self._stop.is_set():
                return False
            h.wfile.write(line % i)
        h.wfile.write(b"Content-Length: 2\r\n\r\n{}")
        return False

    def do_gzip_bomb(self, h: _Handler, *_: Any) -> bool:
        bomb = gzip_bomb()
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                      + f"Content-Length: {len(bomb)}\r\n\r\n".encode() + bomb)
        return False

    def do_brotli_bomb(self, h: _Handler, *_: Any) -> bool:
        bomb = brotli_bomb()
        h._send(200, bomb, {"Content-Encoding": "br"})
        return False

    def do_deep_json(self, h: _Handler, *_: Any) -> bool:
        h._send(200, b"[" * 100_000 + b"]" * 100_000)
        return True

    def do_bad_unicode(self, h: _Handler, *_: Any) -> bool:
        h._send(200, b'{"id": "\\ud800-1", "name": "a\\u0000b\\udfff", "\\ud83d": 1, "items": [{"id": "\\udc00"}]}')
        return True

    def do_huge_number(self, h: _Handler, *_: Any) -> bool:
        h._send(200, b'{"id": ' + b"7" * 20_000 + b', "name": "n"}')
        return True

    def do_bad_location(self, h: _Handler, method: str, *_: Any) -> bool:
        h._send(201 if method != "GET" else 200, b'{"id": 7, "name": "n"}', {"Location": "http://[::1:bad/x"})
        return True

    def do_redirect_out(self, h: _Handler, *_: Any) -> bool:
        h._send(302, b"", {"Location": self.redirect_to})
        return False

    def do_redirect_loop(self, h: _Handler, method: str, target: str, *_: Any) -> bool:
        h._send(302, b"", {"Location": target})
        return False

    def do_page_js_out(self, h: _Handler, *_: Any) -> bool:
        """A page whose script sends the browser to ``redirect_to`` directly (no redirect involved)."""
        body = (b"<!doctype html><html><body><h1 id='ready'>ready</h1><script>setTimeout(() => { location = '"
                + self.redirect_to.encode() + b"'; }, 50)</script></body></html>")
        h._send(200, body, {"Content-Type": "text/html"})
        return False

    def do_page_heavy(self, h: _Handler, *_: Any) -> bool:
        body = (b"<!doctype html><html><head><title>heavy</title></head><body><h1 id='ready'>ready</h1>"
                b"<script>window.got = {};for (const p of ['/big', '/endless']) fetch(p).then(r => r.text())"
                b".then(t => { window.got[p] = t.length; }, e => { window.got[p] = String(e); });</script>"
                b"<img src='/gzip-bomb'></body></html>")
        h._send(200, body, {"Content-Type": "text/html"})
        return False

    def do_page_redirect_out(self, h: _Handler, *_: Any) -> bool:
        body = (b"<!doctype html><html><head><title>redirects</title></head><body><h1 id='ready'>ready</h1>"
                b"<img src='/redirect-out?img'><script>fetch('/redirect-out?fetch').catch(() => 0)</script>"
                b"<a id='out' href='/redirect-out?link'>out</a></body></html>")
        h._send(200, body, {"Content-Type": "text/html"})
        return False


class Recorder:
    """An HTTP server on another loopback address that records every request (with headers) and
    answers 200; nothing in a test should ever reach it."""

    def __init__(self, host: str = "127.0.0.2", port: int = 0):
        self.requests: list[Seen] = []
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self) -> None:
                try:
                    got = _read_request(self.rfile)
                    if got is None:
                        return
                    method, target, headers, _ = got
                    owner.requests.append(Seen(method, target, headers))
                    body = b'{"stolen": true}'
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                except (ConnectionError, OSError):
                    return

        self._server = _Server((host, port), Handler, self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Announcing(list):  # type: ignore[type-arg]
    """A request log that also prints each path (for a parent that kills the server mid-run)."""

    def append(self, item: Seen) -> None:  # type: ignore[override]
        super().append(item)
        print(json.dumps({"request": item.path}), flush=True)


@contextmanager
def hostile_process(port: int = 0, redirect_to: str | None = None,
                    announce: bool = False) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A :class:`HostileServer` in its own process (to be killed mid-run): yields (url, process).
    With ``announce`` the process prints ``{"request": path}`` on stdout for every request."""
    cmd = [sys.executable, "-m", "tests.hostile.servers", "--port", str(port)]
    if redirect_to:
        cmd += ["--redirect-to", redirect_to]
    if announce:
        cmd.append("--announce")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("hostile server process did not start")
        yield json.loads(line)["url"], proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.hostile.servers")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--redirect-to")
    ap.add_argument("--announce", action="store_true", help="print each request's path on stdout")
    args = ap.parse_args(argv)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    server = HostileServer(args.host, args.port, args.redirect_to)
    if args.announce:
        server.requests = _Announcing()
    server.start()
    print(json.dumps({"url": server.url}), flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["HostileServer", "Recorder", "hostile_process", "BEHAVIOURS", "gzip_bomb", "Seen"]
