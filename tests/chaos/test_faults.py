"""Every fault does what its docstring says; the registry contract holds for each one."""

from __future__ import annotations

import importlib
import json
import socket
import time

import httpx
import pytest

from tasks.chaos.errors import ChaosRefused, FaultError
from tasks.chaos.faults import FAULT_MODULES, FAULTS, build, params_errors
from tasks.chaos.faults.base import Fault
from tasks.chaos.proxy import ProxyThread

MINIMAL = {"latency": {"latency_ms": 50}, "bandwidth": {"rate_kbps": 100}, "reset": {}, "timeout": {},
           "outage": {}, "slow_close": {"delay_ms": 100}, "http_error": {}, "http_delay": {"delay_ms": 50}}


def test_the_registry_holds_one_fault_per_module_named_after_its_type():
    assert set(FAULTS) == set(FAULT_MODULES) == set(MINIMAL)
    for name in FAULT_MODULES:
        module = importlib.import_module(f"tasks.chaos.faults.{name}")
        cls = FAULTS[name]
        assert cls.__module__ == module.__name__ and issubclass(cls, Fault) and cls.type == name
        assert module.__doc__ and f"``{name}``" in module.__doc__
        fault = build(name, MINIMAL[name], 0.5)
        assert fault.fraction == 0.5 and json.loads(json.dumps(fault.describe()))["type"] == name
        assert params_errors(name, {**MINIMAL[name], "typo": 1}) == ["typo: unknown parameter"]
    with pytest.raises(FaultError, match="unknown fault type 'latencyy'"):
        build("latencyy")
    with pytest.raises(FaultError, match="fraction"):
        build("outage", {}, 1.5)


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_a_fault_on_no_traffic_changes_nothing(backend, name):
    with ProxyThread(backend.address, env_kind="dev") as proxy, httpx.Client(base_url=proxy.url) as client:
        if name != "outage":  # outage at fraction 0 is not "full": it acts per request, at 0 %
            proxy.add_fault(build(name, MINIMAL[name], 0.0))
        else:
            proxy.add_fault(build(name, {}, 0.0))
        took = []
        for _ in range(5):
            t = time.perf_counter()
            assert client.get("/path/x").json()["path"] == "/path/x"
            took.append(time.perf_counter() - t)
        # the median: one request slowed by a parallel test is the machine, not the fault (a fault that
        # acted would fail every request, or delay every one by its 50-100 ms)
        assert sorted(took)[2] < 0.05, took


def test_latency_delays_the_chosen_share_of_responses(backend):
    with ProxyThread(backend.address, env_kind="dev", seed=3) as proxy, httpx.Client(base_url=proxy.url) as client:
        proxy.add_fault(build("latency", {"latency_ms": 100, "jitter_ms": 10}, 0.5))
        slow = 0
        for _ in range(30):
            t = time.perf_counter()
            client.get("/ok")
            took = time.perf_counter() - t
            # a delayed answer waits its 90-110 ms; on a busy machine any answer may wait longer, so
            # the share is what is judged (15 of 30 expected), with a generous upper bound per answer
            assert took < 1.0
            slow += took >= 0.09
        assert 7 <= slow <= 23


def test_bandwidth_limits_a_connection(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy, httpx.Client(base_url=proxy.url) as client:
        proxy.add_fault(build("bandwidth", {"rate_kbps": 200}))
        t = time.perf_counter()
        assert len(client.get("/big?n=100000").content) == 100000
        assert 0.4 <= time.perf_counter() - t < 1.5


def test_reset_answers_with_a_tcp_reset_and_the_target_never_sees_the_request(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy:
        proxy.add_fault(build("reset", {}))
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as s:
            s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
            with pytest.raises(ConnectionResetError):
                s.recv(100)
        assert backend.requests == []


def test_reset_downstream_lets_the_target_handle_the_request_but_loses_the_answer(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy, httpx.Client(base_url=proxy.url) as client:
        proxy.add_fault(build("reset", {"direction": "downstream"}))
        with pytest.raises(httpx.TransportError):
            client.get("/path/written")
        assert [r[1] for r in backend.requests] == ["/path/written"]


def test_timeout_accepts_and_never_answers_until_removed_or_closed(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy:
        fault = proxy.add_fault(build("timeout", {}))
        with httpx.Client(base_url=proxy.url, timeout=0.3) as client:
            with pytest.raises(httpx.ReadTimeout):
                client.get("/ok")
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as s:
            s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)
            proxy.remove_fault(fault)  # removing it aborts the silent connection
            with pytest.raises(ConnectionResetError):
                s.recv(100)
        proxy.add_fault(build("timeout", {"close_after_ms": 200}))
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as s:
            s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
            t = time.perf_counter()
            with pytest.raises(ConnectionResetError):
                s.recv(100)
            assert 0.15 <= time.perf_counter() - t < 1.0
        assert backend.requests == []


def test_a_full_outage_resets_open_and_new_connections_and_ends_with_the_fault(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy, httpx.Client(base_url=proxy.url) as client:
        assert client.get("/ok").status_code == 200
        fault = proxy.add_fault(build("outage", {}))
        for _ in range(3):
            with pytest.raises(httpx.TransportError):
                client.get("/ok")
        proxy.remove_fault(fault)
        assert client.get("/ok").status_code == 200
        assert fault.hits >= 3


def test_slow_close_delays_the_close(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy:
        proxy.add_fault(build("slow_close", {"delay_ms": 300}))
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=3) as s:
            s.sendall(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
            t = time.perf_counter()
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            assert data.startswith(b"HTTP/1.1 200") and 0.28 <= time.perf_counter() - t < 1.5


def test_http_error_answers_instead_of_the_target_and_keeps_the_answers_in_order(backend):
    with ProxyThread(backend.address, env_kind="dev", seed=11) as proxy:
        fault = proxy.add_fault(build("http_error", {"status": 500}, 0.5))
        paths = [f"/path/{i}" if i % 3 else f"/sleep?ms=30&i={i}" for i in range(30)]
        raw = b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
            s.sendall(raw)  # pipelined: answers must come back in request order
            data = b""
            while data.count(b"HTTP/1.1 ") < len(paths):
                data += s.recv(65536)
        answers = [b"HTTP/1.1 " + a for a in data.split(b"HTTP/1.1 ")[1:]]
        assert len(answers) == len(paths)
        seen = [r[1] for r in backend.requests]
        for path, answer in zip(paths, answers):
            if answer.startswith(b"HTTP/1.1 500"):
                assert b"X-Perfcampaign-Fault" in answer and path not in seen
            else:
                assert path.split("?")[0].encode() in answer or b"/sleep" in answer
                assert path in seen
        assert 5 <= fault.hits <= 25 and len(seen) == len(paths) - fault.hits


def test_http_error_swallows_a_request_body_and_the_next_request_is_fine(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy, httpx.Client(base_url=proxy.url) as client:
        fault = proxy.add_fault(build("http_error", {"status": 503, "body": "nope", "content_type": "text/plain"}))
        answer = client.post("/echo", content=b"z" * 100_000)
        assert answer.status_code == 503 and answer.text == "nope"
        proxy.remove_fault(fault)
        assert client.post("/echo", content=b"abc").content == b"abc"
        assert [r[1] for r in backend.requests] == ["/echo"]


def test_http_delay_holds_the_request_before_the_target_sees_it(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy, httpx.Client(base_url=proxy.url) as client:
        proxy.add_fault(build("http_delay", {"delay_ms": 200}))
        t = time.perf_counter()
        t_mono = time.monotonic()
        assert client.get("/ok").status_code == 200
        assert time.perf_counter() - t >= 0.2
        assert backend.requests[0][2] - t_mono >= 0.19


def test_adding_a_fault_to_a_production_proxy_is_refused(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy:
        proxy.proxy.env_kind = "production"  # however it got there, faults are refused
        with pytest.raises(ChaosRefused):
            proxy.add_fault(build("latency", {"latency_ms": 1}))
        assert proxy.faults == ()
