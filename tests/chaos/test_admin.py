"""The proxy's admin API (Toxiproxy-like): list, add, remove faults over HTTP."""

from __future__ import annotations

import time

import httpx

from tasks.chaos.admin import serve_admin
from tasks.chaos.proxy import FaultProxy


async def test_faults_are_added_listed_and_removed_over_http(backend):
    async with FaultProxy(backend.address, env_kind="dev") as proxy:
        admin = await serve_admin(proxy)
        base = "http://127.0.0.1:%d" % admin.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=base) as api, httpx.AsyncClient(base_url=proxy.url) as client:
            assert (await api.get("/health")).json() == {"status": "ok"}
            made = await api.post("/faults", json={"type": "latency", "params": {"latency_ms": 120}, "name": "slow"})
            assert made.status_code == 201 and made.json()["fault"]["id"] == "slow"
            t = time.perf_counter()
            assert (await client.get("/ok")).status_code == 200
            assert time.perf_counter() - t >= 0.12
            listed = (await api.get("/faults")).json()
            assert [f["id"] for f in listed["faults"]] == ["slow"] and listed["proxy"]["faults"][0]["type"] == "latency"
            bad = await api.post("/faults", json={"type": "latency", "params": {"latency": 1}})
            assert bad.status_code == 400 and "unknown parameter" in bad.json()["error"]
            assert (await api.post("/faults", json={"type": "nope"})).status_code == 400
            assert (await api.delete("/faults/slow")).status_code == 204
            assert (await api.delete("/faults/slow")).status_code == 404
            await api.post("/faults", json={"type": "http_error", "params": {"status": 500}})
            assert (await client.get("/ok")).status_code == 500
            assert len((await api.delete("/faults")).json()["removed"]) == 1
            assert (await client.get("/ok")).status_code == 200
        admin.close()
