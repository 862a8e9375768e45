"""The /metrics scraper against the demo service (a real subprocess on loopback)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tasks.scrape import Scraper, parse, scrape, series_key
from warehouse.analytics.hints import signals
from warehouse.store import Warehouse

ROOT = Path(__file__).resolve().parents[2]
WANTED = {"http_request_duration_seconds", "http_requests", "http_requests_in_flight", "db_pool_in_use",
          "db_pool_size", "process_cpu_seconds", "process_resident_memory_bytes"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--port", "0", "--db", str(db)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert "listening on" in line, line
        url = line.split("listening on ")[1].split()[0]
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_scraping_the_demo_during_traffic(demo, tmp_path):
    async def traffic_and_scrape():
        scraper = Scraper(f"{demo}/metrics", interval=0.4)
        scraper.start()
        async with httpx.AsyncClient(base_url=demo, timeout=5) as client:
            for _ in range(8):
                await asyncio.gather(*[client.get("/api/products") for _ in range(5)])
                await asyncio.sleep(0.1)
        return await scraper.stop()

    result = asyncio.run(traffic_and_scrape())
    assert result.errors == [] and result.scrapes >= 3
    families = {r["family"] for r in result.samples}
    assert WANTED <= families
    buckets = [r for r in result.samples if r["name"] == "http_request_duration_seconds_bucket"]
    assert buckets and all("le" in r["labels"] and r["kind"] == "histogram" for r in buckets)
    counted = [r for r in result.samples if r["name"] == "http_requests_total"
               and r["labels"].get("route") == "/api/products"]
    assert max(r["value"] for r in counted) >= 40
    offsets = sorted({r["offset_s"] for r in result.samples})
    assert offsets[0] < 0.2 and all(b > a for a, b in zip(offsets, offsets[1:]))

    store = Warehouse(tmp_path / "w.duckdb")
    store.write_rows({"metric_samples": result.rows("run-1")})
    stored = store.query("SELECT * FROM metric_samples WHERE run_id = 'run-1'")
    assert stored.height == len(result.samples)
    sig = signals(stored)
    assert {"cpu_cores", "rss_mib", "pool_util", "queue"} <= set(sig.columns)
    assert sig["rss_mib"].min() > 1 and 0 <= sig["pool_util"].max() <= 1


def test_a_fixed_window_and_a_target_that_is_down():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = asyncio.run(scrape(f"http://127.0.0.1:{port}/metrics", duration=0.5, interval=0.2, timeout=0.5))
    assert result.scrapes == 0 and len(result.errors) == 3 and "ConnectError" in result.errors[0]
    assert result.summary()["failed_scrapes"] == 3


def test_parse_keeps_families_and_sorts_labels():
    text = ('# TYPE queue_depth gauge\nqueue_depth{b="2",a="1"} 7\n# TYPE other gauge\nother 1\n')
    rows = parse(text, source="x", scraped_at=None, offset_s=1.5, families={"queue_depth"})  # type: ignore[arg-type]
    assert [(r["series"], r["value"], r["kind"]) for r in rows] == [('queue_depth{a="1",b="2"}', 7.0, "gauge")]
    assert series_key("up", {}) == "up"
