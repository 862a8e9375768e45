"""Numbers the load generator could not vouch for: said by every output, and a campaign setting
(``verdict.untrustworthy``) decides whether that warns or fails the gate."""

from __future__ import annotations

import asyncio

import pytest

from campaigns.loader import load_campaign
from flows.junit import build_junit
from flows.runner import RunOptions, run_campaign, run_directly
from tasks.base import StageResult, now
from tasks.notify.blocks import build_message
from tasks.report.summary import summarize
from tests.shop import shop_campaign
from warehouse.store import Warehouse

DOUBT = "generator event loop stalled for up to 176 ms (answers that arrived meanwhile were timed late)"


async def doubtful_load(stage, ctx):
    """The real stages, but the load comes back as a generator on a busy machine reports it."""
    if stage.name != "load":
        return await run_directly(stage, ctx)
    return StageResult("load", "passed", started_at=now(), finished_at=now(), summary={
        "test_type": "load", "requests": 4000, "errors": 0, "error_rate": 0.0, "rps": 400.0,
        "latency_ms": {"p50": 4.0, "p95": 9.0, "p99": 20.0}, "trustworthy": False, "reasons": [DOUBT]})


def run(tmp_path, shop_url, policy: str | None):
    extra = f"verdict: {{untrustworthy: {policy}}}\n" if policy else ""
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url, extra))
    store = Warehouse(tmp_path / "w.duckdb")
    report = asyncio.run(run_campaign(load_campaign(path), store, RunOptions(
        environments=["dev"], stages=["smoke", "load"], trigger="test"), execute=doubtful_load))
    return report.document(), store


@pytest.mark.parametrize(("policy", "exit_code"), [(None, 0), ("warn", 0), ("fail", 1)])
def test_the_campaign_decides_whether_doubt_warns_or_fails(tmp_path, shop_url, policy, exit_code):
    doc, store = run(tmp_path, shop_url, policy)
    dev = doc.environments["dev"]
    assert not dev.trust.trustworthy and dev.trust.reasons == [DOUBT] and dev.trust.policy == (policy or "warn")
    assert doc.exit_code == exit_code
    gate = [g for g in dev.gates if g.name == "trustworthy numbers"]
    assert bool(gate) is (policy == "fail") and all(not g.passed and DOUBT in g.detail for g in gate)
    # the warehouse's reader agrees (the report and `notify` read it back)
    rebuilt = store.document(list(doc.run_ids.values()))
    assert rebuilt.exit_code == exit_code and rebuilt.environments["dev"].trust == dev.trust
    # every view says it beside the verdict
    s = summarize(doc).environments[0]
    assert s.doubt == f"numbers not trustworthy: {DOUBT}" and s.verdict == ("failed" if policy == "fail" else "passed")
    assert summarize(doc).headline.endswith("· numbers in doubt in dev")
    assert DOUBT in str(build_message(doc).to_dict())
    props = {p.get("name"): p.get("value") for p in build_junit(doc).iter("property")}
    assert props["trustworthy"] == "false" and props["trust_reasons"] == DOUBT
