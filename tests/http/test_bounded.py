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


async def test_brotli_bomb_inflates_no_further_than_the_cap() -> None:
    """httpx's own br decoder inflates a whole chunk at once: 512 MiB from 100 KB (issue 14: a size cap
    per response). The bounded request decodes in steps and stops at the cap."""
    import resource

    from tests.hostile.servers import HostileServer

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with HostileServer() as server:
        async with httpx.AsyncClient() as client:
            response = await bounded_request(client, "GET", server.url + "/brotli-bomb", max_bytes=1_000_000)
    assert len(response.content) == 1_000_000 and response.truncated
    assert response.content == b"\0" * 1_000_000
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, f"the process grew by {grown_mb:.0f} MB reading a capped brotli bomb"


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress),
    ("deflate, gzip", lambda b: gzip.compress(__import__("zlib").compress(b))),
    ("br", lambda b: __import__("brotli").compress(b)),
    ("gzip, identity", gzip.compress),
])
def test_every_content_coding_a_server_may_list_is_undone_in_order(encoding, encode) -> None:
    from tasks.bounded import inflate

    assert inflate(encoding, encode(b'{"id": 1}'), 100) == (b'{"id": 1}', False)


def test_an_unknown_or_broken_coding_leaves_the_raw_bytes() -> None:
    from tasks.bounded import inflate

    assert inflate("zstd", b"\x28\xb5", 100) == (b"\x28\xb5", False)
    assert inflate("br", b"not brotli", 100) == (b"not brotli", False)
    assert inflate("gzip, gzip, gzip, gzip, gzip", b"x", 100) == (b"x", False)   # no chain of 5
