"""``runs``, ``backlog`` and ``trends`` read well at 100 columns: an environment column, summary rows
first, units, one line per gap across stages and environments."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from flows.analytics_cli import trends
from flows.backlog_cli import backlog, merge_gaps
from flows.cli import runs
from tests.report.history import seed_history
from warehouse.store import Warehouse


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    store = Warehouse(folder / "w.duckdb")
    seed_history(store, shots=folder / "shots")
    # the same missing API, seen by e2e too, with what the user saw because of it
    store.sync_backlog("demo", "production", "r-e2e", store.recent_runs(1)["started_at"][0], [{
        "key": "e2e:missing_api:GET /api/unread-count", "kind": "missing_api", "priority": "high",
        "effort": "3-5 days", "title": "GET /api/unread-count answered 404", "endpoint": "unread-count",
        "evidence": {"journeys": ["inbox"], "user_sees": ["Could not load notifications"]}}], scope="e2e:")
    return store


def lines(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_runs_fit_100_columns_with_trust_and_failed_gates(month):
    out = lines(CliRunner().invoke(runs, ["--warehouse", str(month.path), "--limit", "6"]))
    assert max(len(line) for line in out) <= 100
    assert "started (UTC)" in out[1] and "env" in out[1] and "numbers" in out[1]
    dev = next(line for line in out if " dev " in line)
    assert "◇ in doubt" in dev and "passed" in dev
    staging = next(line for line in out if " staging " in line)
    assert "failed" in staging and " 1 " in staging                   # its failed gate, counted
    data = json.loads(CliRunner().invoke(runs, ["--warehouse", str(month.path), "--json", "--limit", "3"]).output)
    assert {r["environment"] for r in data} == {"dev", "staging", "production"} and len(data[0]["run_id"]) == 36


def test_backlog_is_one_line_per_gap_with_its_environments_and_what_users_see(month):
    out = lines(CliRunner().invoke(backlog, ["--warehouse", str(month.path), "--format", "table"]))
    assert max(len(line) for line in out) <= 100
    assert out[0] == "3 open gaps: 1 high, 2 medium"                    # summary rows first
    assert out[1] == "by environment: dev 1 · staging 1 · production 3"
    text = " ".join(out)
    assert "environments" in text and "dev, staging," in text            # predict-demand: one line, three envs
    gaps = merge_gaps(month.backlog_rows("demo"))
    unread = next(g for g in gaps if g.subject == "unread-count")
    assert unread.sources == ["readiness", "e2e"] and unread.users_see == ["Could not load notifications"]
    assert "users see “Could not load notifications”" in unread.what and len(gaps) == 3
    md = CliRunner().invoke(backlog, ["--warehouse", str(month.path)]).output.splitlines()  # not a terminal
    assert md[0].startswith("| Priority | Kind | Title | Effort | Environments |") and len(md) == 2 + 3


def test_trends_fit_100_columns_summary_rows_first_with_units(month):
    out = lines(CliRunner().invoke(trends, ["--warehouse", str(month.path), "--since", "all"]))
    assert max(len(line) for line in out) <= 100
    rows = [line for line in out if line.startswith((" dev ", " staging ", " production "))]
    assert rows[0].split()[1] == "_overall"                              # the whole run first
    assert any(" ms " in r for r in rows) and any("%" in r for r in rows) and any("/s" in r for r in rows)
    assert any("◇" in r for r in rows if r.startswith(" dev "))          # nights left out are counted, not hidden
    everything = lines(CliRunner().invoke(trends, ["--warehouse", str(month.path), "--since", "all", "--all"]))
    assert len(everything) > len(out) and any("--all shows them" in line for line in out)
