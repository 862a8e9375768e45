"""Golden files for every output of the fixture run (``tests/notify/run-doc.json``) and the report's
data for the month of history: a change to what people read is a reviewed diff.

``UPDATE_GOLDEN=1`` rewrites the files after a deliberate change: review the diff. (Slack's blocks
are pinned in ``tests/notify/expected-slack-blocks.json``, the document's schema in
``tests/report/run-document.schema.json``.)
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flows.artifacts import endpoint_rows, summary_markdown
from flows.junit import build_junit
from tasks.document import ReportInfo, RunDocument
from tasks.report.data import load_report_data
from tests.report.history import NOW

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
DOC = RunDocument.from_json(json.loads((HERE.parent / "notify" / "run-doc.json").read_text()))


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed (UPDATE_GOLDEN=1 rewrites it: review the diff)"


def test_junit_is_golden():
    root = build_junit(DOC)
    for suite in root.iter("testsuite"):
        suite.set("hostname", "host")                    # the machine's name is not the contract
    ET.indent(root)
    check("junit.xml", ET.tostring(root, encoding="unicode") + "\n")


def test_artifacts_are_golden():
    doc = DOC.model_copy(update={"report": ReportInfo(
        html="/srv/perf/reports/demo/20261120T060000Z/report.html",
        url="https://perf.example.com/reports/demo/20261120T060000Z/report.html",
        link="https://perf.example.com/reports/demo/20261120T060000Z/report.html")})
    check("summary.md", summary_markdown(doc))
    check("endpoint-rows.json", json.dumps(endpoint_rows(doc), indent=2) + "\n")


def test_the_run_json_is_the_document():
    """run.json and ``--json`` are the document's JSON, whose schema is golden; it reads back whole."""
    data = DOC.to_json()
    assert RunDocument.from_json(json.loads(json.dumps(data))).to_json() == data
    assert list(data)[:3] == ["schema_version", "campaign", "team"]
    assert {"exit_code", "status", "run_ids", "outputs", "report", "notifications"} <= set(data)


@pytest.fixture(scope="module")
def report_data(history):
    store, _ = history
    return load_report_data(store, "demo", now=NOW)


def test_report_data_is_golden(report_data):
    """What each section of the report shows, without the charts' pixels."""
    def frame(f):
        return None if f is None else [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                                       for r in f.to_dicts()]

    out = {"campaign": report_data.campaign, "team": report_data.team, "headline": report_data.summary.headline,
           "verdict": report_data.summary.verdict, "environments": []}
    for env in report_data.environments:
        s = env.summary
        out["environments"].append({
            "name": env.name, "verdict": s.verdict, "brief": s.brief, "doubt": s.doubt, "vs": s.vs,
            "numbers": s.numbers.phrases(), "reasons": s.reasons, "not_run": s.not_run,
            "slo": frame(env.slo), "notes": env.notes, "key_endpoints": env.key_endpoints,
            "nights": env.nightly["run_id"].n_unique() if env.nightly is not None else 0,
            "errors": frame(env.errors), "readiness": frame(env.readiness),
            "backlog": [r["title"] for r in env.backlog.to_dicts()],
            "capacity": None if env.capacity is None else env.capacity.get("peak_throughput")})
    check("report-data.json", json.dumps(out, indent=2, ensure_ascii=False, default=str) + "\n")
