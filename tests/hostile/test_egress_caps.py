"""The browser's egress guard bounds what it relays, through a real loopback proxy to a real hostile
server (no browser needed): a response still coming at the deadline is cut and counted, an HTTPS-style
``CONNECT`` tunnel is cut past 4 × the response cap, a page past the document cap and anything else
past the response cap — and the guard's summary says what it relayed and cut."""

from __future__ import annotations

import asyncio
import time

import pytest

from tasks.e2e.egress import TUNNEL_RESPONSES, EgressGuard
from tests.hostile.servers import HostileServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def hostile():
    with HostileServer() as server:
        yield server


async def through(guard: EgressGuard, head: bytes, then: bytes = b"", limit_s: float = 15) -> tuple[int, float]:
    """Send ``head`` to the guard (and ``then`` once it answers a CONNECT); bytes read until it closes."""
    assert guard.address is not None
    reader, writer = await asyncio.open_connection(*guard.address)
    started = time.monotonic()
    writer.write(head)
    if then:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), limit_s)
        writer.write(then)
    got = 0
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), limit_s):
            got += len(chunk)
    except (ConnectionError, OSError):
        pass
    writer.close()
    return got, time.monotonic() - started


def get(url: str, accept: str = "*/*") -> bytes:
    host = url.split("/")[2]
    return f"GET {url} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\n\r\n".encode()


async def test_a_response_still_coming_at_the_deadline_is_cut_and_counted(hostile):
    async with EgressGuard(["127.0.0.1"], deadline_s=1.0) as guard:
        got, took = await through(guard, get(hostile.url + "/trickle"))
        assert took < 5, f"the trickle went on for {took:.1f} s past a 1 s deadline"
        assert guard.timed_out == [hostile.url + "/trickle"] and guard.truncated == []
        assert 0 < got < 1000 and guard.summary()["cut_at_deadline"] == 1


async def test_a_page_is_cut_at_the_document_cap_and_anything_else_at_the_response_cap(hostile):
    async with EgressGuard(["127.0.0.1"], max_document_bytes=256 << 10, max_response_bytes=1 << 20,
                           deadline_s=10) as guard:
        page, _ = await through(guard, get(hostile.url + "/big", "text/html,application/xhtml+xml,*/*;q=0.8"))
        other, _ = await through(guard, get(hostile.url + "/endless", "*/*"))
        assert page <= (256 << 10) + 65536 and other <= (1 << 20) + 65536
        assert page > 128 << 10 and other > 512 << 10
        summary = guard.summary()
        assert summary["cut_at_cap"] == 2 and summary["cut"] == [hostile.url + "/big", hostile.url + "/endless"]
        assert summary["bytes"] == page + other and summary["requests"] == 2


async def test_a_tunnel_is_cut_past_four_times_the_response_cap(hostile):
    host = hostile.url.split("/")[2]
    cap = 256 << 10
    async with EgressGuard(["127.0.0.1"], max_response_bytes=cap) as guard:
        got, took = await through(guard, f"CONNECT {host} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(),
                                  then=f"GET /endless HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert got <= TUNNEL_RESPONSES * cap + 65536 + 100 and took < 10
        assert guard.truncated == [f"https://{host}/"] and guard.summary()["cut_at_cap"] == 1
