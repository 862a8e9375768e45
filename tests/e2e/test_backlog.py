"""Backlog gaps across nights in a real DuckDB file: one item per gap, first/last seen, closed when it
stops appearing, reopened when it comes back; and ``perfcampaign backlog`` exporting them."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import pytest
from click.testing import CliRunner

from campaigns.loader import load_campaign
from flows.backlog_cli import backlog
from flows.runner import RunOptions, run_campaign
from tasks.base import now
from tests.e2e.pages import pages_campaign
from warehouse.store import Warehouse

E2E = """\
  options: {slow_threshold_ms: 300}
  api_journeys:
    - name: inbox
      continue_on_failure: true
      steps:
        - {endpoint: unread-count}
        - {name: report, method: GET, path: /api/slow-report}
"""


@pytest.fixture(scope="module")
def nights(pages, tmp_path_factory):
    """Four nightly runs: the missing API is seen twice, fixed on the third night, back on the fourth."""
    url, app = pages
    tmp = tmp_path_factory.mktemp("nights")
    (tmp / "c.yaml").write_text(pages_campaign(url, E2E))
    loaded = load_campaign(tmp / "c.yaml")
    store = Warehouse(tmp / "warehouse.duckdb")
    store.sync_backlog("pages", "dev", "r0", now(), [{
        "key": "readiness:mock:notes", "kind": "mock_data", "title": "Replace the mock", "priority": "medium",
        "effort": "1-2 days", "endpoint": "notes", "evidence": []}], "readiness:")
    snapshots, run_ids = [], []
    for fixed in (False, False, True, False):
        app.state.fixed = fixed
        report = asyncio.run(run_campaign(loaded, store, RunOptions(environments=["dev"], stages=["e2e"],
                                                                    trigger="test", start_services=False)))
        run_ids.append(report.environments["dev"].run_id)
        snapshots.append({r[0]: r[1:] for r in store.fetchall(
            "SELECT key, status, times_seen, first_seen, last_seen, first_run_id, last_run_id, closed_at "
            "FROM backlog_items WHERE campaign = 'pages' AND environment = 'dev'")})
    app.state.fixed = False
    return store, snapshots, run_ids


def test_a_gap_seen_every_night_stays_one_item(nights):
    _, snapshots, run_ids = nights
    key = "e2e:missing_api:GET /api/unread-count"
    first, second = snapshots[0][key], snapshots[1][key]
    assert first[:2] == ("open", 1) and second[:2] == ("open", 2)
    assert second[2] == first[2] and second[3] > first[3]                # first seen kept, last seen moved
    assert (second[4], second[5]) == (run_ids[0], run_ids[1])
    assert sum(k.startswith("e2e:missing_api") for k in snapshots[1]) == 1


def test_a_gap_that_disappears_is_closed_and_reopened_when_it_returns(nights):
    _, snapshots, _ = nights
    key = "e2e:missing_api:GET /api/unread-count"
    closed = snapshots[2][key]
    assert closed[0] == "closed" and closed[1] == 2 and closed[6] is not None
    assert snapshots[2]["e2e:slow_api:GET /api/slow-report"][:2] == ("open", 3)
    reopened = snapshots[3][key]
    assert reopened[0] == "open" and reopened[1] == 3 and reopened[6] is None
    assert all(s["readiness:mock:notes"][0] == "open" for s in snapshots)  # e2e never closes readiness's items


def test_backlog_exports_markdown_csv_and_json(nights, tmp_path):
    store, _, _ = nights
    runner = CliRunner()
    base = ["--warehouse", str(store.path), "--campaign", "pages"]

    md = runner.invoke(backlog, base)
    assert md.exit_code == 0, md.output
    lines = md.output.splitlines()
    assert lines[0].startswith("| Priority | Kind | Title | Effort |")
    assert "| high | missing_api |" in lines[2] and "`e2e:missing_api:GET /api/unread-count`" in lines[2]
    assert len(lines) == 2 + 3  # missing API, slow API, readiness's mock

    rows = list(csv.DictReader(io.StringIO(runner.invoke(backlog, [*base, "--format", "csv"]).output)))
    by_key = {r["key"]: r for r in rows}
    assert by_key["e2e:slow_api:GET /api/slow-report"]["effort"] == "2-3 days"
    assert by_key["e2e:slow_api:GET /api/slow-report"]["times_seen"] == "4"
    assert json.loads(by_key["e2e:missing_api:GET /api/unread-count"]["evidence"])["journeys"] == ["inbox"]

    items = json.loads(runner.invoke(backlog, [*base, "--format", "json", "--status", "all", "--env", "dev"]).output)
    assert {i["status"] for i in items} == {"open"} and items[0]["priority"] == "high"
    assert items[0]["evidence"]["detail"]["status"] == 404

    assert runner.invoke(backlog, [*base, "--status", "closed"]).output == "No backlog items.\n"
    missing = runner.invoke(backlog, ["--warehouse", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no warehouse" in missing.output
