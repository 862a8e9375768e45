"""The k6 engine against hostile targets (issue 14): k6 keeps whole every body a check reads (it has
no cap; an endless body grew it to 5.5 GB), so its memory is bounded from outside (load.k6_memory,
RLIMIT_DATA): past it k6 stops, the stage is an error that says why, the requests measured before
are stored, and the run ends in time. A slow target costs one timeout per request (k6's timeout
covers the whole request)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml

from campaigns.loader import load_campaign
from flows.runner import RunOptions, run_campaign
from tests.hostile.servers import HostileServer
from warehouse.store import Warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as s:
        yield s


def _campaign(tmp_path: Path, url: str, path: str, **load: object) -> Path:
    doc = {"campaign": "k6-hostile", "team": "qa",
           "environments": {"dev": {"kind": "dev", "base_url": url}},
           "endpoints": [{"name": "hostile", "path": path, "expect": {"fields": ["id"]}}],
           "load": {"engine": "k6", "rate": 20, "duration": "3s", "timeout": "2s", "graceful_stop": "1s",
                    "thresholds": ["error_rate<=100%"], **load}}
    file = tmp_path / "campaign.yaml"
    file.write_text(yaml.safe_dump(doc))
    return file


class _TreePeak(threading.Thread):
    """Peak RSS of the largest child process (k6) of this one."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.halt = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        while not self.halt.wait(0.05):
            for child in me.children(recursive=True):
                try:
                    self.peak = max(self.peak, child.memory_info().rss)
                except psutil.Error:
                    pass


def _run(tmp_path: Path, file: Path):
    store = Warehouse(tmp_path / "wh.duckdb")
    sampler = _TreePeak()
    sampler.start()
    t0 = time.monotonic()
    report = asyncio.run(run_campaign(load_campaign(file), store, RunOptions(
        stages=["load"], trigger="test", start_services=False, out_dir=tmp_path / "runs")))
    elapsed = time.monotonic() - t0
    sampler.halt.set()
    sampler.join()
    return report.environments["dev"], store, elapsed, sampler.peak / 2**20


def test_an_endless_body_stops_k6_at_its_memory_budget_and_keeps_what_it_measured(tmp_path, server):
    env, store, elapsed, peak_mb = _run(tmp_path, _campaign(tmp_path, server.url, "/endless", k6_memory="256MiB"))
    load = env.results["load"]
    assert load.status == "error" and "memory budget (load.k6_memory: 256 MiB)" in (load.error or ""), load.error
    # RLIMIT_DATA caps the heap; the stack, the binary and the sampling interval come on top (328 MB seen
    # on a busy machine): bounded near the budget, not the endless body's gigabytes
    assert peak_mb < 384, f"k6 peaked at {peak_mb:.0f} MB with a 256 MiB budget"
    assert elapsed < 30, elapsed
    rows = store.fetchall("SELECT engine FROM load_runs")
    assert rows == [("k6",)]


def test_a_trickling_target_costs_one_timeout_per_request(tmp_path, server):
    env, store, elapsed, peak_mb = _run(tmp_path, _campaign(tmp_path, server.url, "/trickle"))
    load = env.results["load"]
    summary = load.summary
    assert summary["requests"] > 0 and summary["errors"] == summary["requests"], summary
    # 3 s of arrivals + a 2 s timeout + 1 s graceful stop; k6's start-up and our margin on a busy machine
    assert elapsed < 3 + 2 + 1 + 15, elapsed
    assert peak_mb < 448
