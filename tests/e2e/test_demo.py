"""The demo campaign with the proposed ``e2e:`` section, through ``perfcampaign run --json``, against
the demo service running in-process: journeys, Web Vitals, friction points, screenshots and backlog
items end up in the JSON document and in the warehouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from demo.server import running
from flows.cli import cli
from tests.conftest import ROOT
from warehouse.store import Warehouse

HERE = Path(__file__).parent


def demo_campaign(tmp_path: Path, base_url: str) -> Path:
    """campaigns/demo.yaml with its dev environment at ``base_url`` and the proposed e2e section."""
    doc = yaml.safe_load((ROOT / "campaigns" / "demo.yaml").read_text())
    doc["environments"]["dev"] = {"kind": "dev", "base_url": base_url}
    doc["e2e"] = yaml.safe_load((HERE / "demo-e2e.yaml").read_text())["e2e"]
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "campaigns" / "data" / "demo-users.csv", tmp_path / "data" / "demo-users.csv")
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One ``perfcampaign run --json --stages readiness,e2e`` of the demo: (JSON document, warehouse)."""
    tmp = tmp_path_factory.mktemp("demo-e2e")
    with running(tmp / "demo.sqlite3") as url:
        campaign = demo_campaign(tmp, url)
        store = tmp / "state" / "warehouse.duckdb"
        result = CliRunner().invoke(cli, ["run", str(campaign), "--env", "dev", "--stages", "readiness,e2e",
                                          "--no-prefect", "--no-start", "--json", "-q", "--warehouse", str(store)])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout), Warehouse(store)


def test_the_json_document_lists_journeys_steps_vitals_friction_and_screenshots(demo_run):
    doc, _ = demo_run
    e2e = doc["environments"]["dev"]["stages"]["e2e"]
    journeys = {j["name"]: j for j in e2e["summary"]["journeys"]}
    assert set(journeys) == {"shopper", "shop", "courses"}
    assert all(j["status"] == "passed" for j in journeys.values()), {n: j["error"] for n, j in journeys.items()}
    assert e2e["status"] == "passed" and doc["exit_code"] == 0

    shopper = journeys["shopper"]["steps"]
    assert [s["status_code"] for s in shopper if s["action"] == "request"] == [200, 200, 200, 200, 201, 200]

    shop = journeys["shop"]
    assert [s["action"] for s in shop["steps"]][:4] == ["start", "fill", "fill", "click"]
    assert shop["steps"][2]["value"] == "•••"
    friction = {p["key"]: p for p in shop["friction"]}
    missing = friction["missing_api:GET /notifications/unread-count"]
    assert missing["endpoint"] == "unread-count" and missing["evidence"]["status"] == 404
    assert Path(missing["screenshot"]).is_file()
    assert friction["error_message:/app/:Could not load notifications"]["evidence"]["caused_by"] == missing["key"]

    for name in ("shop", "courses"):
        metrics = journeys[name]["web_vitals"][0]["metrics"]
        assert {"LCP", "CLS", "FCP", "TTFB"} <= set(metrics)
        assert all(Path(p).is_file() for p in journeys[name]["screenshots"])
    assert any(p.endswith("dashboard.png") for p in shop["screenshots"])
    assert any(p.endswith("enrolled.png") for p in journeys["courses"]["screenshots"])

    endpoints = doc["environments"]["dev"]["endpoints"]
    assert endpoints["unread-count"]["e2e"]["friction"] == ["missing_api"]
    assert endpoints["create-order"]["e2e"]["status_codes"]["201"] >= 2  # the API and the browser journey
    assert any(b["key"] == "e2e:missing_api:GET /notifications/unread-count" for b in e2e["summary"]["backlog"])


def test_the_warehouse_holds_every_table(demo_run):
    doc, store = demo_run
    run_id = doc["run_ids"]["dev"]
    counts = {t: store.fetchall(f"SELECT count(*) FROM {t} WHERE run_id = ?", [run_id])[0][0]
              for t in ("journeys", "journey_steps", "network_calls", "web_vitals", "friction_points", "screenshots")}
    assert counts["journeys"] == 3 and all(counts.values()), counts
    (path,) = store.fetchall("SELECT path FROM screenshots WHERE run_id = ? AND label = 'dashboard'", [run_id])[0]
    assert Path(path).is_file() and Path(path).parent.name == "shop"
    backlog = dict(store.fetchall("SELECT key, priority || ' ' || effort FROM backlog_items WHERE status = 'open'"))
    assert backlog["e2e:missing_api:GET /notifications/unread-count"] == "high 3-5 days"
    assert any(k.startswith("readiness:mock:") for k in backlog)  # readiness's own items stay beside ours
    ratings = {r[0] for r in store.fetchall("SELECT rating FROM web_vitals WHERE run_id = ?", [run_id])}
    assert ratings <= {"good", "needs-improvement", "poor"}
