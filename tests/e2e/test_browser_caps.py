"""A real Chromium against real loopback servers sending a 200 MB body and an endless one: the egress
guard cuts the page at its cap (2 MiB by default), the sub-resources a page pulls (fetches of both,
a gzip-bomb image) at theirs (8 MiB), the journey reports what was cut, the stage ends within its
navigation timeout, and Chromium does not grow with what the target sends (it took +400–500 MB PSS
against the 200 MB page with the old 8 MiB page cap)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tasks.e2e.stage import E2EStage
from tests.e2e.conftest import make_context
from tests.e2e.memory import children_bytes
from tests.hostile.servers import HostileServer

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

NAV_S = 3.0
MIB = 1 << 20


def campaign(url: str, start: str) -> str:
    return f"""\
campaign: browser-caps
team: qa
environments:
  dev: {{kind: dev, base_url: "{url}"}}
endpoints:
  - {{name: ok, path: /ok}}
e2e:
  options: {{navigation_timeout: {NAV_S:g}s, action_timeout: {NAV_S:g}s}}
  browser_journeys:
    - {{name: page, start: "{start}"}}
"""


class TreePss(threading.Thread):
    """Peak PSS of this process's children (Playwright's driver and Chromium): pages shared between
    Chromium's processes counted once."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak = 0

    @staticmethod
    def now() -> int:
        return children_bytes(pss=True)

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.peak = max(self.peak, self.now())


@pytest.fixture(scope="module")
def hostile():
    with HostileServer() as server:
        yield server


async def run_stage(tmp_path: Path, browser, url: str, start: str) -> tuple[dict, float, int]:
    ctx = make_context(tmp_path, campaign(url, start))
    baseline = TreePss.now()
    sampler = TreePss()
    sampler.start()
    started = time.monotonic()
    try:
        result = await E2EStage(browser=browser).run(ctx)
    finally:
        sampler.stop.set()
        sampler.join()
    journey = {j["name"]: j for j in result.summary["journeys"]}["page"]
    return journey, time.monotonic() - started, sampler.peak - baseline


@pytest.mark.parametrize("path", ["/big", "/endless"])
async def test_a_200_mb_or_endless_page_is_cut_at_the_page_cap(tmp_path, browser, hostile, path):
    journey, took, grew = await run_stage(tmp_path, browser, hostile.url, path)
    egress = journey["network"]["egress"]
    assert egress["cut_at_cap"] == 1 and egress["cut"] == [hostile.url + path], egress
    assert egress["max_document_bytes"] == 2 * MIB
    assert MIB < egress["bytes"] <= 2 * MIB + 256 * 1024, egress    # the page's cap, not 200 MB
    # navigation (3 s) + a short screenshot + settling, with room for a busy 2-core machine
    assert took < NAV_S + 12, f"{path}: the stage took {took:.1f} s"
    # 246-289 MB alone; once 450 MB with the whole suite running beside it (clean-clone CI, stop 21).
    # Unbounded, the 200 MB page takes Chromium past 1 GB: the cap itself is checked on the bytes above
    assert grew < 640 * MIB, f"{path}: Chromium grew by {grew >> 20} MB (PSS)"


async def test_sub_resources_are_cut_at_the_response_cap_and_the_page_still_works(tmp_path, browser, hostile):
    journey, took, grew = await run_stage(tmp_path, browser, hostile.url, "/page-heavy")
    egress = journey["network"]["egress"]
    cut = {url.removeprefix(hostile.url) for url in egress["cut"]}
    assert cut == {"/big", "/endless", "/gzip-bomb"}, egress
    assert egress["cut_at_cap"] == 3 and egress["bytes"] <= 3 * 8 * MIB + MIB, egress
    assert journey["steps"][0]["outcome"] == "passed", journey["steps"]
    assert took < NAV_S + 12, f"the stage took {took:.1f} s"
    assert grew < 400 * MIB, f"Chromium grew by {grew >> 20} MB (PSS)"
