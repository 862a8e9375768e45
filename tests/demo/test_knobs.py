"""Latency / jitter / error-rate knobs, set at start or through /admin/knobs."""

import asyncio
import time

import pytest

from demo import knobs as knobs_module
from demo.knobs import Knobs, KnobsUpdate
from demo.server import running


def timed_get(client, path):
    start = time.perf_counter()
    r = client.get(path)
    return r, time.perf_counter() - start


def test_defaults_are_zero(client):
    assert client.get("/admin/knobs").json() == {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "routes": {}}


def test_global_latency_applies_to_real_routes_only(client, set_knobs):
    set_knobs(latency_ms=100)
    r, elapsed = timed_get(client, "/api/products/1")
    assert r.status_code == 200 and elapsed >= 0.100
    r, elapsed = timed_get(client, "/health")
    assert r.status_code == 200 and elapsed < 0.100


def test_per_route_override(client, set_knobs):
    knobs = set_knobs(routes={"/api/products/{id}": {"latency_ms": 150}})
    assert knobs["routes"] == {"/api/products/{id}": {"latency_ms": 150}}
    assert timed_get(client, "/api/products/2")[1] >= 0.150
    assert timed_get(client, "/api/products?limit=1")[1] < 0.150


def test_error_rate_one_answers_503(client, set_knobs):
    set_knobs(error_rate=1)
    r = client.get("/api/products/1")
    assert r.status_code == 503 and r.json() == {"detail": "service unavailable"}
    assert client.post("/api/orders", json={"product_id": 1, "qty": 1}).status_code == 503
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/admin/knobs").json()["error_rate"] == 1


def test_partial_error_rate(client, set_knobs):
    set_knobs(error_rate=0.5)
    statuses = [client.get("/api/lms/courses/1").status_code for _ in range(40)]
    assert set(statuses) == {200, 503}


def test_route_override_can_exempt_a_route(client, set_knobs):
    set_knobs(error_rate=1, routes={"/api/lms/courses": {"error_rate": 0}})
    assert client.get("/api/lms/courses").status_code == 200
    assert client.get("/api/lms/courses/1").status_code == 503


@pytest.mark.parametrize("body", [
    {"error_rate": 2},
    {"latency_ms": -1},
    {"routes": {"/api/products/1": {"latency_ms": 5}}},
    {"routes": {"/api/products/{id}": {"latency": 5}}},
    {"latencyMs": 5},
])
def test_invalid_knobs_are_rejected(client, body):
    assert client.put("/admin/knobs", json=body).status_code == 422
    assert client.get("/admin/knobs").json()["error_rate"] == 0


def test_knobs_given_at_start(tmp_path):
    import httpx

    with running(tmp_path / "knobs.sqlite3", error_rate=1.0) as url:
        assert httpx.get(f"{url}/api/products/1").status_code == 503
        assert httpx.get(f"{url}/health").status_code == 200


def test_route_override_falls_back_to_global_values():
    knobs = Knobs(latency_ms=50, jitter_ms=20, error_rate=0.1, seed=1)
    knobs.update(KnobsUpdate(routes={"/x": {"jitter_ms": 0}}), known_routes={"/x"})
    assert knobs.effective("/x") == (50, 0, 0.1)
    assert knobs.effective("/y") == (50, 20, 0.1)


def test_jitter_is_uniform_around_the_latency(monkeypatch):
    delays = []

    async def record(seconds):
        delays.append(seconds)

    monkeypatch.setattr(knobs_module, "_sleep_at_least", record)
    knobs = Knobs(latency_ms=50, jitter_ms=20, seed=3)

    async def many():
        for _ in range(200):
            await knobs.apply("/api/products")

    asyncio.run(many())
    assert all(0.030 <= d <= 0.070 for d in delays)
    assert min(delays) < 0.040 and max(delays) > 0.060
