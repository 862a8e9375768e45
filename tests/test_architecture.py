"""Boundaries the architecture relies on: checked, not hoped for."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from campaigns.model import STAGE_ORDER
from tasks.base import StageResult, load_stages
from tasks.document import RunDocument

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


SQL = re.compile(r"""["'](?:SELECT|INSERT INTO|UPDATE|DELETE FROM|CREATE TABLE|ALTER TABLE) [a-z_*]""")


#: every module that speaks SQL: the store (connections, writes), its reads (the run document's and the
#: outputs'), the migrations, and the analytics' reads
SQL_MODULES = {"warehouse/store.py", "warehouse/queries.py", "warehouse/migrate.py", "warehouse/analytics/reads.py"}


def test_only_the_warehouse_speaks_sql():
    """A schema change is an edit in a few warehouse/ modules, never in flows/, tasks/ or campaigns/."""
    speakers = {p.relative_to(ROOT).as_posix() for folder in ("flows", "tasks", "campaigns", "warehouse")
                for p in (ROOT / folder).rglob("*.py") if SQL.search(p.read_text())}
    assert speakers <= SQL_MODULES


def test_outputs_read_the_run_document_not_dict_keys():
    """Every output takes the typed run document (tasks.document.RunDocument)."""
    from flows.artifacts import endpoint_rows, publish_artifacts, summary_markdown
    from flows.junit import build_junit
    from tasks.notify import notify_run
    from tasks.notify.blocks import build_message
    from tasks.report.summary import summarize

    for func in (endpoint_rows, publish_artifacts, summary_markdown, build_junit, build_message, summarize):
        annotation = inspect.signature(func).parameters["doc"].annotation
        assert annotation in ("RunDocument", RunDocument), func.__qualname__
    assert inspect.signature(notify_run).parameters["doc"].annotation in ("RunDocument", RunDocument)


def test_one_word_for_exit_codes_and_cli_failures():
    """Exit codes come from campaigns.vocabulary and CLI failures from flows.console: no private copies."""
    offenders = []
    for path in (ROOT / "flows").rglob("*.py"):
        text = path.read_text()
        copies = re.search(r"^EXIT_\w+(\s*,\s*EXIT_\w+)*\s*=\s*\d", text, re.M)
        if copies or (re.search(r"^class _?Failure\(", text, re.M) and path.name != "console.py"):
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


def test_no_module_beside_the_flow_entrypoint_shadows_a_library():
    """Prefect puts the entrypoint's folder (flows/) on sys.path when it loads the campaign flow, and
    processes spawned from there (Dask's LocalCluster workers) inherit it: a ``flows/distributed.py``
    made ``import distributed`` find our module, and every worker died at start."""
    import importlib.metadata
    import sys

    installed = {name for dist in importlib.metadata.distributions()
                 for name in (dist.read_text("top_level.txt") or "").split()}
    installed |= set(sys.stdlib_module_names)
    assert "distributed" in installed and "http" in installed
    mine = {p.stem if p.is_file() else p.name for p in (ROOT / "flows").iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert mine & installed == set(), f"flows/ shadows {sorted(mine & installed)}"
