"""Run ASGI apps and plain http.server handlers on free 127.0.0.1 ports, in
background threads, for the readiness tests.  Loopback only.

``serve_asgi`` uses uvicorn (which lower-cases header names and adds
``date``/``server``).  ``serve_raw_asgi`` is a minimal HTTP/1.1 server that
writes exactly the headers the app gives, with their casing — needed to mimic
what Prism, Mockoon, WireMock... really put on the wire."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import uvicorn


class RunningServer:
    def __init__(self, url: str, stop) -> None:
        self.url = url
        self._stop = stop

    def stop(self) -> None:
        self._stop()


def serve_asgi(app, *, date_header: bool = True, server_header: bool = True) -> RunningServer:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", date_header=date_header,
                            server_header=server_header, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()

    return RunningServer(f"http://127.0.0.1:{port}", stop)


def serve_http_server(handler: type[BaseHTTPRequestHandler]) -> RunningServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()

    return RunningServer(f"http://127.0.0.1:{port}", stop)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve_raw_asgi(app) -> RunningServer:
    """Serve an ASGI app over a bare-bones HTTP/1.1 loop (keep-alive,
    Content-Length bodies only) that writes response headers verbatim."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                req_headers = []
                for line in lines[1:]:
                    if line:
                        k, _, v = line.partition(":")
                        req_headers.append((k.strip().lower().encode(), v.strip().encode()))
                hmap = dict(req_headers)
                body = await reader.readexactly(int(hmap.get(b"content-length", b"0") or 0))
                path, _, query = target.partition("?")
                scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                         "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                         "root_path": "", "headers": req_headers, "client": ("127.0.0.1", 0),
                         "server": ("127.0.0.1", holder["port"])}
                sent = {"status": 500, "headers": [], "body": b""}
                delivered = False

                async def receive():
                    nonlocal delivered
                    if not delivered:
                        delivered = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    await asyncio.sleep(3600)

                async def send(message):
                    if message["type"] == "http.response.start":
                        sent["status"], sent["headers"] = message["status"], list(message.get("headers", []))
                    elif message["type"] == "http.response.body":
                        sent["body"] += message.get("body", b"")

                await app(scope, receive, send)
                hdrs = sent["headers"]
                if not any(k.lower() == b"content-length" for k, _ in hdrs):
                    hdrs.append((b"Content-Length", str(len(sent["body"])).encode()))
                try:
                    reason = HTTPStatus(sent["status"]).phrase
                except ValueError:
                    reason = "Unknown"
                out = f"HTTP/1.1 {sent['status']} {reason}\r\n".encode()
                out += b"".join(k + b": " + v + b"\r\n" for k, v in hdrs) + b"\r\n"
                writer.write(out + (b"" if method == "HEAD" else sent["body"]))
                await writer.drain()
                if hmap.get(b"connection", b"").lower() == b"close":
                    return
        finally:
            writer.close()

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
        holder["server"] = server
        holder["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("raw server did not start")

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)

    return RunningServer(f"http://127.0.0.1:{holder['port']}", stop)
