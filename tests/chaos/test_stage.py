"""Done-when: the demo campaign's dev and staging environments run a latency experiment and an
outage experiment (the section proposed for campaigns/demo.yaml, in a temporary campaign file),
the results land in the warehouse, and the report shows impact and recovery time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from campaigns.loader import load_campaign
from demo.server import running
from tasks.base import REGISTRY, RunContext
from tasks.chaos.report import markdown
from tasks.chaos.stage import ChaosStage
from tests.chaos.conftest import write_demo


@pytest.fixture
def demo_file(tmp_path, chaos_loader):
    with running(tmp_path / "dev.sqlite3") as dev, \
            running(tmp_path / "staging.sqlite3", latency_ms=4, jitter_ms=3) as staging:
        path = write_demo(tmp_path)
        text = path.read_text().replace("http://127.0.0.1:8101", dev).replace("http://127.0.0.1:8102", staging)
        path.write_text(text)
        yield path


def run_context(loaded, env: str, tmp_path: Path, events: list) -> RunContext:
    return RunContext(loaded=loaded, env_name=env, run_id=f"run-{env}", out_dir=tmp_path / env,
                      emit=events.append)


async def test_dev_and_staging_run_the_latency_and_outage_experiments(demo_file, tmp_path):
    assert REGISTRY["chaos"] is ChaosStage
    loaded = load_campaign(demo_file)
    events: list = []
    dev, staging = await asyncio.gather(*(ChaosStage().run(run_context(loaded, env, tmp_path, events))
                                          for env in ("dev", "staging")))
    from warehouse.store import Warehouse

    store = Warehouse(tmp_path / "wh.duckdb")
    for env, result in (("dev", dev), ("staging", staging)):
        assert result.status == "passed", [g.to_dict() for g in result.gates if not g.passed]
        latency, outage = result.summary["experiments"]
        assert latency["name"] == "latency-400ms" and outage["name"] == "outage-2s"
        assert latency["impact"]["delta_p95_ms"] > 300 and latency["impact"]["fault"]["error_rate"] == 0
        assert outage["impact"]["fault"]["error_rate"] > 0.9 and outage["degradation"] == "fast-failures"
        for exp in (latency, outage):
            assert exp["time_to_detect_s"] is not None and exp["time_to_detect_s"] <= 2.0
            assert exp["recovered"] and 0 <= exp["recovery_time_s"] <= 3.0
            assert 0 < exp["score"] <= 100
        assert len(result.gates) == 8 and all(g.passed for g in result.gates)
        report = markdown(result.summary, env)
        print("\n" + report)
        assert "| latency-400ms | passed | latency (latency_ms=400, jitter_ms=50) on 50% |" in report
        assert "| outage-2s | passed | outage |" in report and "Resilience score" in report
        store.record_stage(f"run-{env}", result)
    rows = store.fetchall("SELECT experiment, count(*) FROM chaos_timeseries GROUP BY 1 ORDER BY 1")
    assert [r[0] for r in rows] == ["latency-400ms", "outage-2s"] and all(r[1] >= 16 for r in rows)
    phases = store.fetchall("SELECT DISTINCT phase FROM chaos_phases ORDER BY 1")
    assert [p[0] for p in phases] == ["baseline", "fault", "probe:browse", "recovery"]
    kinds = store.fetchall("SELECT kind, fault_type, status FROM chaos_activities WHERE phase = 'method' "
                           "ORDER BY experiment")
    assert kinds == [("fault", "latency", "ok"), ("fault", "latency", "ok"),
                     ("fault", "outage", "ok"), ("fault", "outage", "ok")]
    found = store.fetchall("SELECT count(*), min(recovery_time_s) >= 0 FROM chaos_experiments WHERE recovered")
    assert found == [(4, True)]
    assert any(e.stage == "chaos" and e.kind == "item" for e in events)


async def test_production_is_refused_by_the_stage_even_with_a_chaos_section(tmp_path, chaos_loader):
    loaded = load_campaign(write_demo(tmp_path))  # nothing listens: nothing may be sent anyway
    result = await ChaosStage().run(run_context(loaded, "production", tmp_path, []))
    assert result.status == "refused" and result.summary["reason"] == "chaos never runs in a production environment"
    assert result.summary["safety"] == {"env_kind": "production", "target": "127.0.0.1:8103", "allow_writes": False,
                                        "refused": "chaos never runs in a production environment"}
    assert result.rows == {} and result.gates == []
