from __future__ import annotations

import pytest

from tests.report.history import NOW, seed_history
from warehouse.store import Warehouse


@pytest.fixture(scope="session")
def history(tmp_path_factory):
    """A month of three environments (read-only for the tests that share it)."""
    folder = tmp_path_factory.mktemp("history")
    store = Warehouse(folder / "warehouse.duckdb")
    doc = seed_history(store, shots=folder / "shots")
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
