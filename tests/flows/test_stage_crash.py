"""A stage that crashes on an internal error says so where the later stages are skipped (held-out bed:
readiness died on a schema the validator could not read, and smoke said "an earlier stage found the
target unreachable" while the target was up)."""

from __future__ import annotations

import asyncio

from campaigns.loader import load_campaign
from flows.runner import RunOptions, run_campaign
from tests.shop import shop_campaign
from warehouse.store import Warehouse


def test_a_crashed_stage_is_named_as_the_reason_later_stages_were_skipped(tmp_path, shop_url, monkeypatch):
    from tasks.readiness.stage import ReadinessStage

    async def crash(self, ctx):
        raise AttributeError("'list' object has no attribute 'get'")

    monkeypatch.setattr(ReadinessStage, "run", crash)
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    report = asyncio.run(run_campaign(load_campaign(path), Warehouse(tmp_path / "w.duckdb"), RunOptions(
        environments=["dev"], stages=["readiness", "smoke"], trigger="test")))
    assert report.environments["dev"].results["readiness"].status == "error"
    stages = report.document().environments["dev"].stages
    assert stages.smoke.status == "skipped"
    assert stages.smoke.reason == ("the readiness stage stopped on an internal error (AttributeError: 'list' "
                                      "object has no attribute 'get')")
