"""Engines import neither Prefect nor DuckDB (I/O at the edges)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE_MODULES = [f"tasks.load.{p.stem}" for p in (ROOT / "tasks" / "load").glob("*.py")
                  if p.stem not in ("stage", "__main__", "__init__")] + ["tasks.load.executors"]


def test_engine_modules_import_neither_prefect_nor_duckdb():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in ENGINE_MODULES) +
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'duckdb', 'prefect_dask'))\n"
            "print(bad)\nsys.exit(1 if bad else 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_one_executor_per_file():
    files = sorted(p.stem for p in (ROOT / "tasks" / "load" / "executors").glob("*.py")
                   if p.stem not in ("__init__", "base"))
    assert files == ["constant_arrival_rate", "constant_vus", "ramping_arrival_rate", "ramping_vus"]
