"""Done-when: an injected 200 ms latency moves the measured p50 by 200 ms ± 10 %.

The load engine (open model, light load, latency from the intended send time)
measures p50 through the proxy, first idle, then with the ``latency`` fault on every response
(30 req/s for 2 s each: 60 samples).
"""

from __future__ import annotations

from tasks.chaos.faults import build
from tasks.chaos.proxy import ProxyThread
from tasks.load import histogram as H
from tasks.load.engine import run_shard
from tests.load.conftest import simple_plan


def p50_ms(url: str) -> float:
    result = run_shard(simple_plan(url, "/ok", rate=30, duration=2.0))
    (endpoint,) = result.endpoints
    assert endpoint.requests >= 55 and endpoint.errors == 0
    return H.percentiles(H.decode(endpoint.latency), [50.0])[50.0] / 1000


def test_an_injected_200ms_latency_moves_p50_by_200ms_within_10_percent(backend):
    with ProxyThread(backend.address, env_kind="dev") as proxy:
        idle = p50_ms(proxy.url)
        proxy.add_fault(build("latency", {"latency_ms": 200}))
        faulty = p50_ms(proxy.url)
    moved = faulty - idle
    print(f"\np50 idle {idle:.3f} ms, with 200 ms latency {faulty:.3f} ms: moved {moved:.3f} ms")
    assert 180.0 <= moved <= 220.0
