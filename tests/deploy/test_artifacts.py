"""Prefect artifacts of a run, published in a flow run on a real Prefect server and read back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from prefect import flow

from flows.artifacts import artifact_key, endpoint_rows, keys_for, publish_artifacts, summary_markdown
from tasks.document import ReportInfo, RunDocument

DOC = RunDocument.from_json(json.loads((Path(__file__).resolve().parents[1] / "notify" / "run-doc.json").read_text()))


def test_keys_are_lowercase_letters_digits_and_dashes():
    assert artifact_key("Shop_API", "summary") == "shop-api-summary"
    assert artifact_key("demo", "endpoint-metrics") == "demo-endpoint-metrics"
    assert keys_for("demo") == {"summary": "demo-summary", "table": "demo-endpoint-metrics", "link": "demo-report"}


def test_summary_markdown_has_the_verdicts_and_the_gaps():
    doc = DOC.model_copy(update={"report": ReportInfo(html="/r/report.html", link="/r/report.html")})
    md = summary_markdown(doc)
    assert md.startswith("# demo: Failed")
    assert "| staging | **Failed** |" in md and "| production | **Passed** |" in md
    assert "| dev | **Passed** ⚠ in doubt |" in md and "- dev: numbers not trustworthy: event loop stalled" in md
    assert "product p95 71.6 ms: +31% vs last night (p=0.00041, within-run)" in md
    assert "- `predict-demand` in dev, staging, production" in md
    assert "production · chaos: refused — chaos never runs in a production environment" in md
    assert "file://" not in md and "Report: `/r/report.html` — serve the reports folder" in md
    served = DOC.model_copy(update={"report": ReportInfo(html="/r/report.html", url="http://127.0.0.1:8480/d/report.html")})
    assert "[report.html](http://127.0.0.1:8480/d/report.html)" in summary_markdown(served)


async def _read(keys: list[str], flow_run_id) -> dict:
    from tests.deploy.conftest import read_artifacts

    return {a["key"]: a for a in await read_artifacts(flow_run_id) if a["key"] in keys}


def test_publish_artifacts_in_a_flow_run(prefect_api, tmp_path):
    url = "http://127.0.0.1:8480/demo/20261120T060000Z/report.html"
    doc = DOC.model_copy(update={"report": ReportInfo(html=str(tmp_path / "report.html"), url=url, link=url)})

    @flow(name="artifacts-probe")
    async def probe() -> str:
        from prefect.runtime import flow_run

        await publish_artifacts(doc)
        return str(flow_run.id)

    flow_run_id = asyncio.run(probe())
    keys = keys_for("demo")
    found = asyncio.run(_read(list(keys.values()), flow_run_id))
    assert set(found) == set(keys.values())
    assert found["demo-summary"]["type"] == "markdown" and "# demo: Failed" in found["demo-summary"]["data"]
    # Prefect stores a link artifact as markdown: "[text](link)"
    assert found["demo-report"]["type"] in ("link", "markdown") and f"({url})" in found["demo-report"]["data"]
    table = found["demo-endpoint-metrics"]
    assert table["type"] == "table"
    rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
    assert rows == json.loads(json.dumps(endpoint_rows(DOC)))
