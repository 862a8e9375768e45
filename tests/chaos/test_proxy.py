"""The proxy is transparent when idle (bytes identical, keep-alive, half-close, big bodies), stays on
its fast path, and switches faults at runtime."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from tasks.chaos.errors import ChaosError, ChaosRefused
from tasks.chaos.faults import build
from tasks.chaos.proxy import FaultProxy, ProxyThread

RAW = (b"GET /path/one HTTP/1.1\r\nHost: x\r\n\r\n"
       b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
       b"GET /big?n=300000&chunked=1 HTTP/1.1\r\nHost: x\r\n\r\n"
       b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")


def exchange(port: int, data: bytes, half_close: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_bytes_through_the_idle_proxy_are_the_bytes_of_the_target(backend):
    direct = exchange(backend.port, RAW)
    with ProxyThread(backend.address, env_kind="dev") as proxy:
        proxied = exchange(proxy.port, RAW)
        assert proxied == direct and len(proxied) > 300000
        # a client that half-closes still gets every answer
        assert exchange(proxy.port, RAW, half_close=True) == direct


def test_keep_alive_connections_stay_one_connection_and_on_the_fast_path(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy:
        with httpx.Client(base_url=proxy.url) as client:
            for i in range(30):
                assert client.get(f"/path/{i}").json()["path"] == f"/path/{i}"
            big = client.post("/echo", content=b"y" * 2_000_000)
            assert len(big.content) == 2_000_000
            links = proxy.call(lambda: list(proxy.proxy.links))
            assert len(links) == 1 and links[0].client.fast and links[0].upstream.fast
            assert links[0].req_framer is None and links[0].resp_framer is None  # nothing parsed
        assert backend.connections == 1


def test_faults_switch_at_runtime_on_an_open_connection(backend):
    with ProxyThread(backend.address, env_kind="dev", seed=1) as proxy:
        with httpx.Client(base_url=proxy.url) as client:
            assert client.get("/ok").status_code == 200
            fault = proxy.add_fault(build("http_error", {"status": 502}))
            assert client.get("/ok").status_code == 502
            proxy.remove_fault(fault)
            assert client.get("/ok").status_code == 200
            proxy.add_fault(build("latency", {"latency_ms": 150}))
            t = time.perf_counter()
            client.get("/ok")
            assert time.perf_counter() - t >= 0.15
            assert [f.type for f in proxy.clear_faults()] == ["latency"]
            t = time.perf_counter()
            client.get("/ok")
            assert time.perf_counter() - t < 0.1
            link = proxy.call(lambda: next(iter(proxy.proxy.links)))
            assert link.client.fast  # back on the fast path once nothing is queued
        windows = proxy.windows
        assert [w["type"] for w in windows] == ["http_error", "latency"]
        assert all(w["ended_at"] >= w["started_at"] for w in windows) and windows[0]["hits"] == 1


async def test_the_proxy_runs_on_any_loop_and_stops_with_no_fault_left(backend):
    async with FaultProxy(backend.address, env_kind="staging") as proxy:
        proxy.add_fault(build("latency", {"latency_ms": 10}))
        async with httpx.AsyncClient(base_url=proxy.url) as client:
            assert (await client.get("/ok")).status_code == 200
    assert proxy.faults == () and proxy.links == set()


def test_an_unreachable_upstream_resets_the_client():
    with ProxyThread("127.0.0.1:1", env_kind="dev") as proxy:
        with pytest.raises(httpx.TransportError):
            httpx.get(proxy.url + "/ok", timeout=2)
        assert proxy.describe()["counters"]["upstream_failed"] == 1


def test_the_proxy_listens_on_loopback_only_and_never_in_production():
    with pytest.raises(ChaosError, match="loopback"):
        FaultProxy("127.0.0.1:80", env_kind="dev", listen="0.0.0.0:0")
    with pytest.raises(ChaosRefused, match="production"):
        FaultProxy("127.0.0.1:80", env_kind="production")
    with pytest.raises(ChaosRefused):
        ProxyThread("127.0.0.1:80", env_kind="production")
    with pytest.raises(ChaosRefused):
        FaultProxy("127.0.0.1:80", env_kind="")  # an environment that does not say what it is


async def test_many_connections_at_once(backend):
    async with FaultProxy(backend.address, env_kind="dev") as proxy:
        async with httpx.AsyncClient(base_url=proxy.url, limits=httpx.Limits(max_connections=20)) as client:
            answers = await asyncio.gather(*(client.get(f"/path/{i}") for i in range(100)))
    assert sorted(r.json()["path"] for r in answers) == sorted(f"/path/{i}" for i in range(100))
