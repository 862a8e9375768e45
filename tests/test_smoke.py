from __future__ import annotations

import asyncio
from pathlib import Path

from campaigns.loader import load_campaign
from flows.runner import RunOptions, run_campaign
from tasks.base import RunContext
from tasks.smoke import SmokeStage
from tests.shop import shop_campaign
from warehouse.store import Warehouse


def context(tmp_path: Path, text: str, env: str = "dev") -> RunContext:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return RunContext(loaded=load_campaign(path), env_name=env, run_id="r", out_dir=tmp_path)


def test_smoke_passes_real_endpoints_and_reports_each(tmp_path, shop_url):
    result = asyncio.run(SmokeStage().run(context(tmp_path, shop_campaign(shop_url))))
    assert result.status == "passed", result.gates
    assert [g.name for g in result.gates] == ["smoke list-products", "smoke product", "smoke create-order"]
    by_name = {e["name"]: e for e in result.endpoints}
    assert by_name["create-order"]["status_code"] == 201
    assert by_name["product"]["url"] == f"{shop_url}/api/products/1"
    assert all(e["latency_ms"] > 0 for e in result.endpoints)
    assert {r["endpoint"] for r in result.rows["smoke_checks"]} == {"list-products", "product", "create-order"}


def test_every_kind_of_expectation_can_fail_with_a_readable_reason(tmp_path, shop_url):
    extra = """\
  - {name: wrong-status, path: /api/products/999, expect: {status: [200]}}
  - {name: wrong-field, path: /api/products/1, expect: {fields: [sku], values: {name: Product 2}}}
  - {name: too-slow, path: /api/slow, expect: {max_latency_ms: 5}}
  - {name: wrong-type, path: /api/products/1, expect: {content_type: text/html, body_contains: nope}}
"""
    result = asyncio.run(SmokeStage().run(context(tmp_path, shop_campaign(shop_url, extra))))
    assert result.status == "failed"
    failures = {e["name"]: e["failures"] for e in result.endpoints}
    assert failures["wrong-status"] == ["status 404, expected [200]"]
    assert failures["wrong-field"] == ["JSON field sku missing", "JSON field name is 'Product 1', expected 'Product 2'"]
    assert failures["too-slow"][0].startswith("latency ") and failures["too-slow"][0].endswith("over budget 5 ms")
    assert failures["wrong-type"] == ["content-type 'application/json', expected 'text/html'",
                                      "body does not contain 'nope'"]
    assert sum(not g.passed for g in result.gates) == 4


def test_production_never_receives_writes(tmp_path, shop_url):
    result = asyncio.run(SmokeStage().run(context(tmp_path, shop_campaign(shop_url), env="production")))
    order = next(e for e in result.endpoints if e["name"] == "create-order")
    assert order["outcome"] == "skipped" and "production" in order["reason"]
    assert "smoke create-order" not in [g.name for g in result.gates]


def test_blocked_endpoints_are_checked_but_do_not_gate(tmp_path, shop_url):
    extra = "  - {name: missing, path: /api/nothing-here}\n"
    ctx = context(tmp_path, shop_campaign(shop_url, extra))
    ctx.blocked["missing"] = "missing (90%)"
    result = asyncio.run(SmokeStage().run(ctx))
    assert result.status == "passed"
    missing = next(e for e in result.endpoints if e["name"] == "missing")
    assert missing["status_code"] == 404 and missing["gating"] is False


def test_unreachable_target_is_an_infrastructure_failure(tmp_path):
    from tests.loopback import free_port

    result = asyncio.run(SmokeStage().run(context(tmp_path, shop_campaign(f"http://127.0.0.1:{free_port()}"))))
    assert result.infrastructure_failure and result.status == "error"
    assert all(e["error_kind"] == "connect" for e in result.endpoints if e["outcome"] != "skipped")


def test_smoke_results_land_in_the_warehouse(tmp_path, shop_url):
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    store = Warehouse(tmp_path / "w.duckdb")
    report = asyncio.run(run_campaign(load_campaign(path), store, RunOptions(environments=["dev"], stages=["smoke"])))
    run_id = report.environments["dev"].run_id
    assert report.exit_code == 0
    assert store.fetchall("SELECT status, finished_at IS NOT NULL FROM runs WHERE run_id = ?", [run_id]) == [
        ("passed", True)]
    assert store.fetchall("SELECT stage, status FROM stage_results WHERE run_id = ?", [run_id]) == [("smoke", "passed")]
    assert store.fetchall("SELECT count(*) FROM smoke_checks WHERE run_id = ? AND passed", [run_id]) == [(3,)]
    assert store.fetchall("SELECT count(*) FROM endpoint_metrics WHERE run_id = ? AND stage = 'smoke'",
                          [run_id]) == [(3,)]
