"""The run document: its JSON Schema is committed (a change to the contract every output reads is a
reviewed diff), what the runner produces validates against it, and it survives a JSON round trip.

``UPDATE_GOLDEN=1`` rewrites the schema after a deliberate change: review its diff.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import jsonschema

from tasks.document import SCHEMA_VERSION, RunDocument, json_schema

HERE = Path(__file__).parent
SCHEMA = HERE / "run-document.schema.json"
RUN_DOC = HERE.parent / "notify" / "run-doc.json"


def test_the_schema_is_the_committed_one():
    schema = json_schema()
    if os.environ.get("UPDATE_GOLDEN"):
        SCHEMA.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
    assert schema == json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_fixture_validates_and_round_trips():
    data = json.loads(RUN_DOC.read_text())
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    doc = RunDocument.from_json(data)
    assert doc.schema_version == SCHEMA_VERSION
    assert doc.to_json() == data
    staging = doc.environments["staging"]
    assert staging.stages.load.summary.latency_ms.p95 == 148.13          # typed, not dict keys
    assert doc.exit_code == 1 and doc.status == "failed" and doc.run_ids["staging"] == staging.run_id


def test_what_the_runner_produces_validates(tmp_path, shop_url):
    from campaigns.loader import load_campaign
    from flows.runner import RunOptions, run_campaign
    from tests.shop import shop_campaign
    from warehouse.store import Warehouse

    path = tmp_path / "c.yaml"
    path.write_text(shop_campaign(shop_url))
    report = asyncio.run(run_campaign(load_campaign(path), Warehouse(tmp_path / "w.duckdb"),
                                      RunOptions(stages=["readiness", "smoke", "chaos"], trigger="test")))
    data = report.to_dict()
    jsonschema.validate(json.loads(json.dumps(data)), json.loads(SCHEMA.read_text()))
    assert data["exit_code"] == 2 and data["refused"]           # chaos asked of production by name
    assert RunDocument.from_json(json.loads(json.dumps(data))).to_json() == json.loads(json.dumps(data))
    dev = report.document().environments["dev"]
    assert dev.stages.readiness.summary.verdicts and dev.trust.trustworthy
    assert dev.endpoints["create-order"].smoke["status_code"] == 201


def test_a_summary_field_in_another_shape_is_kept_aside_never_lost():
    from tasks.document import Stages, stage_outcome

    outcome = stage_outcome("load", "passed", summary={"requests": "many", "rps": 12.5, "engine": "k6"})
    stages = Stages(load=outcome)                                   # still the typed load outcome
    summary = stages.load.summary
    assert summary.rps == 12.5 and summary.requests is None and summary.engine == "k6"
    assert summary.model_extra["unreadable"] == {"requests": "many"}
    assert "requests" in summary.model_extra["summary_problem"]
