"""The bounded request against a hostile loopback server: endless bodies, trickles, gzip bombs."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tasks.bounded import RequestDeadlineExceeded, bounded_request

BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024))


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        try:
            if self.path == "/endless":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while True:
                    self.wfile.write(b"10000\r\n" + b"x" * 65536 + b"\r\n")
            elif self.path == "/trickle":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif self.path == "/bomb":
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(BOMB)))
                self.end_headers()
                self.wfile.write(BOMB)
            else:
                body = gzip.compress(b'{"ok": true}')
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("X-Custom-Case", "kept")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        except OSError:
            return


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


async def test_ordinary_response_is_decoded_with_original_header_casing(hostile: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await bounded_request(client, "GET", hostile + "/ok")
    assert response.status_code == 200 and response.json() == {"ok": True} and not response.truncated
    assert ("X-Custom-Case", "kept") in response.raw_headers


async def test_endless_body_is_cut_at_the_cap(hostile: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await bounded_request(client, "GET", hostile + "/endless", max_bytes=300_000)
    assert len(response.content) == 300_000 and response.truncated


async def test_gzip_bomb_inflates_no_further_than_the_cap(hostile: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await bounded_request(client, "GET", hostile + "/bomb", max_bytes=1_000_000)
    assert len(response.content) == 1_000_000 and response.truncated


async def test_trickle_ends_at_the_whole_request_deadline(hostile: str) -> None:
    async with httpx.AsyncClient(timeout=5.0) as client:   # per-read timeout never fires on a trickle
        start = time.perf_counter()
        with pytest.raises(RequestDeadlineExceeded):
            await bounded_request(client, "GET", hostile + "/trickle", deadline_s=1.0)
    assert time.perf_counter() - start < 2.0


async def test_allow_list_check_runs_before_anything_is_sent(hostile: str) -> None:
    seen: list[str] = []

    def refuse(url: str) -> None:
        seen.append(url)
        raise PermissionError(f"{url} is outside the allow-list")

    async with httpx.AsyncClient() as client:
        with pytest.raises(PermissionError):
            await bounded_request(client, "GET", hostile + "/ok", allow=refuse)
    assert seen == [hostile + "/ok"]
