"""Boundaries the architecture relies on: checked, not hoped for."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from campaigns.model import STAGE_ORDER
from tasks.base import StageResult, load_stages

ROOT = Path(__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_store_imports_duckdb():
    users = {p.relative_to(ROOT).as_posix() for folder in ("campaigns", "flows", "tasks", "warehouse", "demo")
             for p in (ROOT / folder).rglob("*.py") if "duckdb" in imports_of(p)}
    assert users <= {"warehouse/store.py"}


def test_engines_and_the_campaign_model_import_neither_prefect_nor_duckdb():
    offenders = []
    for folder in ("campaigns", "tasks"):
        for path in (ROOT / folder).rglob("*.py"):
            bad = imports_of(path) & {"prefect", "prefect_dask", "duckdb", "warehouse", "flows"}
            if bad:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert offenders == []


def test_every_registered_stage_fulfils_the_contract():
    registry = load_stages()
    assert {"readiness", "smoke"} <= set(registry)
    for name, cls in registry.items():
        assert cls.name == name and name in STAGE_ORDER
        assert inspect.iscoroutinefunction(cls.run)
        assert inspect.signature(cls.run).return_annotation in (StageResult, "StageResult")
