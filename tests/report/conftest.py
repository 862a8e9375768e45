from __future__ import annotations

import pytest

from tests.report.history import NOW, seed_history
from warehouse.store import Warehouse


@pytest.fixture(scope="session")
def history(tmp_path_factory):
    """A month of three environments (read-only for the tests that share it)."""
    path = tmp_path_factory.mktemp("history") / "warehouse.duckdb"
    store = Warehouse(path)
    doc = seed_history(store)
    return store, doc


@pytest.fixture(scope="session")
def built(history, tmp_path_factory):
    """The report of the month, HTML and PNGs, built once."""
    from tasks.report import build_report

    store, _ = history
    out = tmp_path_factory.mktemp("report")
    paths = build_report(store, "demo", out_dir=out, now=NOW, flow_run_url="http://127.0.0.1:4200/runs/flow-run/x")
    print(f"\nreport built in {paths.seconds:.1f} s, of which PNG rendering {paths.png_seconds:.1f} s "
          f"({len(paths.pngs)} PNGs)")
    return paths


class HidingStore:
    """A store that pretends some tables do not exist yet (the load or analytics migrations)."""

    def __init__(self, store, hidden: set[str]):
        self.store, self.hidden, self.path = store, hidden, store.path

    def query(self, sql, params=None):
        frame = self.store.query(sql, params)
        if "information_schema.tables" in sql:
            import polars as pl

            frame = frame.filter(~pl.col("table_name").is_in(sorted(self.hidden)))
        elif any(f" {t} " in f" {sql} " for t in self.hidden):
            raise AssertionError(f"read a hidden table: {sql}")
        return frame

    def fetchall(self, sql, params=None):
        return self.store.fetchall(sql, params)


@pytest.fixture
def hiding():
    return HidingStore
