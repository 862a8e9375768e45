"""E2E against hostile targets: endless and huge bodies, trickles, silence, resets, garbage, half-closed
sockets, gzip bombs, 10 MB of headers, redirect loops — a real Chromium and real API journeys. Each
stage run ends within its timeouts, our memory stays flat, Chromium's is bounded by the egress
guard's response cap, and what was measured is returned (rows), never an exception."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil
import pytest

from tasks.e2e.stage import E2EStage
from tests.e2e.conftest import make_context
from tests.e2e.memory import children_bytes
from tests.hostile.servers import HostileServer

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

TIMEOUT_S = 2.0


def campaign(url: str, behaviour: str) -> str:
    return f"""\
campaign: hostile-e2e
team: qa
environments:
  dev: {{kind: dev, base_url: "{url}"}}
endpoints:
  - {{name: hostile, path: "/{behaviour}", expect: {{fields: [id]}}}}
  - {{name: ok, path: /ok, expect: {{fields: [id]}}}}
e2e:
  options: {{request_timeout: {TIMEOUT_S:g}s, navigation_timeout: {TIMEOUT_S:g}s, action_timeout: {TIMEOUT_S:g}s}}
  api_journeys:
    - name: api
      continue_on_failure: true
      steps: [{{endpoint: hostile}}, {{endpoint: ok}}]
  browser_journeys:
    - {{name: page, start: "/{behaviour}"}}
"""


class TreeRss(threading.Thread):
    """Peak RSS of this process and of its children (Playwright's driver and Chromium)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.me = psutil.Process()
        self.peak_self = self.peak_children = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak_self = max(self.peak_self, self.me.memory_info().rss)
            self.peak_children = max(self.peak_children, children_bytes())


@pytest.fixture(scope="module")
def hostile():
    with HostileServer() as server:
        yield server


@pytest.mark.parametrize("behaviour", ["endless", "big", "trickle", "slow-headers", "hang", "reset", "garbage",
                                       "half-close", "wrong-length", "huge-headers", "gzip-bomb", "redirect-loop"])
async def test_a_hostile_target_cannot_stretch_or_swell_the_e2e_stage(tmp_path: Path, browser, hostile, behaviour):
    ctx = make_context(tmp_path, campaign(hostile.url, behaviour))
    baseline_self = psutil.Process().memory_info().rss
    baseline_children = children_bytes()  # a Chromium renderer of the last test may be exiting right now
    sampler = TreeRss()
    sampler.start()
    started = time.monotonic()
    try:
        result = await E2EStage(browser=browser).run(ctx)
    finally:
        sampler.stop.set()
        sampler.join()
    took = time.monotonic() - started
    # API step (2 s deadline) + ok + navigation (2 s) + bounded readings of the broken page and its
    # screenshot, with room for a busy 2-core machine
    assert took < 45, f"{behaviour}: the e2e stage took {took:.1f} s"
    assert sampler.peak_self - baseline_self < 200 * 2**20, f"{behaviour}: +{(sampler.peak_self - baseline_self) >> 20} MB here"
    grew = sampler.peak_children - baseline_children
    assert grew < 1500 * 2**20, f"{behaviour}: Chromium grew by {grew >> 20} MB"
    journeys = {j["name"]: j for j in result.summary["journeys"]}
    assert journeys["api"]["status"] == "failed" and journeys["page"]["status"] == "failed"
    api_steps = journeys["api"]["steps"]
    assert api_steps[0]["outcome"] == "failed" and api_steps[1]["outcome"] == "passed", \
        [(s["target"], s["outcome"], s.get("failures"), s.get("duration_ms")) for s in api_steps]
    assert result.rows["journeys"] and result.rows["journey_steps"]
