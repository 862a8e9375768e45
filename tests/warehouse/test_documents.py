"""The run document rebuilt from the warehouse is the one the runner produced: one set of rules."""

from __future__ import annotations

import asyncio

import pytest

from campaigns.loader import load_campaign
from flows.runner import RunOptions, run_campaign
from tests.shop import shop_campaign
from warehouse.store import Warehouse


def _essentials(doc) -> dict:
    return {"campaign": doc.campaign, "team": doc.team, "status": doc.status, "exit_code": doc.exit_code,
            "refused": doc.refused, "run_ids": doc.run_ids, "environments": {
                name: {"status": env.status, "kind": env.kind, "error": env.error, "trust": env.trust,
                       "stages": {s: (o.status, o.reason, [g.name for g in o.gates], o.error)
                                  for s, o in env.stages.items()},
                       "verdicts": {n: e.verdict for n, e in env.endpoints.items()},
                       "smoke": {n: (e.smoke or {}).get("status_code") for n, e in env.endpoints.items()}}
                for name, env in doc.environments.items()}}


@pytest.mark.parametrize("stages", [["readiness", "smoke"], ["readiness", "smoke", "chaos"]])
def test_the_reader_rebuilds_what_the_runner_produced(tmp_path, shop_url, stages):
    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    store = Warehouse(tmp_path / "w.duckdb")
    produced = asyncio.run(run_campaign(load_campaign(path), store, RunOptions(stages=stages, trigger="test")))
    produced = produced.document()
    rebuilt = store.document(list(produced.run_ids.values()))
    assert _essentials(rebuilt) == _essentials(produced)
    assert store.document(campaign="shop-api").run_ids == produced.run_ids      # the latest runs, by campaign
    assert rebuilt.trigger == "test" and rebuilt.environments["dev"].host


def test_no_runs_is_a_lookup_error(tmp_path):
    with pytest.raises(LookupError):
        Warehouse(tmp_path / "w.duckdb").document(campaign="nope")


def test_a_batch_of_reads_holds_one_connection(tmp_path, monkeypatch):
    store = Warehouse(tmp_path / "w.duckdb")
    opened = []
    real = Warehouse._open

    def counting(self, read_only=False):
        opened.append(read_only)
        return real(self, read_only)

    monkeypatch.setattr(Warehouse, "_open", counting)
    with store.reading():
        for _ in range(5):
            store.recent_runs(5)
        store.write_rows({"runs": []})                     # nothing to write: no connection either
    assert len(opened) == 1
    store.recent_runs(5)
    assert len(opened) == 2                                # outside the batch: per query, as before
