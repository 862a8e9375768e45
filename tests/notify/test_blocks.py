"""The Block Kit formatter: golden-tested (``UPDATE_GOLDEN=1`` rewrites the file after a deliberate
change: review its diff), within Block Kit's limits however large the run."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from tasks.document import RunDocument
from tasks.notify.blocks import MAX_BLOCKS, Links, build_message, limit_problems
from tests.notify.fake_slack import block_problems

HERE = Path(__file__).parent
GOLDEN = HERE / "expected-slack-blocks.json"


def run_doc() -> RunDocument:
    return RunDocument.from_json(json.loads((HERE / "run-doc.json").read_text()))


def golden_message() -> dict:
    links = Links(report="https://perf.example.com/reports/demo/20261120T060000Z/report.html",
                  flow_run="http://127.0.0.1:4200/runs/flow-run/0b7e3c2a-5d1f-4c8e-9a6b-2f4d8e1c7a90")
    return build_message(run_doc(), links=links, trigger="schedule").to_dict()


def test_message_matches_the_golden_file():
    message = golden_message()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(message, indent=2, ensure_ascii=False) + "\n")
    assert message == json.loads(GOLDEN.read_text())


def test_golden_message_says_what_a_manager_needs():
    message = golden_message()
    text = json.dumps(message, ensure_ascii=False)
    assert message["text"] == "demo: Failed — staging (1 of 3) · numbers in doubt in dev"
    assert message["blocks"][0]["type"] == "header" and "Failed" in message["blocks"][0]["text"]["text"]
    assert "staging · product p95 71.6 ms: +31% vs last night (p=0.00041, within-run); +35% vs baseline" in text
    assert "*Regressions* (1) — vs last night / vs baseline" in text
    assert ":warning: numbers not trustworthy: event loop stalled for up to 176 ms" in text   # dev, in doubt
    assert "production · no significant regression vs last night or baseline" in text
    assert "predict-demand — mocked in dev, staging, production" in text    # mocked endpoints
    assert "unread-count — missing in production" in text
    assert "production · chaos (chaos never runs in a production environment)" in text
    buttons = [b for b in message["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Open the report", "Prefect flow run"]
    assert limit_problems(message["blocks"]) == [] and block_problems(message["blocks"]) == []


def test_a_local_report_path_is_context_not_a_button():
    message = build_message(run_doc(), links=Links(report="/srv/perf/reports/demo/x/report.html"))
    assert not [b for b in message.blocks if b["type"] == "actions"]
    context = [e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"]]
    assert "report: `/srv/perf/reports/demo/x/report.html`" in context
    attached = build_message(run_doc(), links=Links(report="/srv/x/report.html", report_attached=True))
    context = [e["text"] for b in attached.blocks if b["type"] == "context" for e in b["elements"]]
    assert any(c.startswith("report: attached in the thread") for c in context)


def test_only_the_environments_of_the_channel_are_in_its_message():
    message = build_message(run_doc(), environments=["production"])
    assert message.text == "demo: Passed — 1 environment green"
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert any("*production*" in s for s in sections) and not any("*staging*" in s for s in sections)


def test_mention_only_when_something_failed():
    doc = run_doc()
    assert build_message(doc, mention="<!here>").blocks[1]["text"]["text"].startswith("<!here> ")
    assert "<!here>" not in json.dumps(build_message(doc, environments=["production"], mention="<!here>").blocks)


@pytest.mark.parametrize("envs", [1, 30])
def test_huge_runs_stay_within_block_kit_limits(envs):
    data = run_doc().to_json()
    staging = data["environments"]["staging"]
    many = [{"stage": "load", "name": f"p(95)<{i} " + "x" * 400, "passed": False, "observed": 999.0,
             "limit": f"< {i}", "endpoint": f"endpoint-{i}", "detail": "d" * 2500} for i in range(200)]
    staging["stages"]["load"]["gates"] += many
    staging["stages"]["readiness"]["summary"]["mocked"] = [f"mock-{i}-" + "m" * 60 for i in range(300)]
    data["campaign"] = "c" * 400
    data["environments"] = {f"env-{i}": copy.deepcopy(staging) for i in range(envs)}
    doc = RunDocument.from_json(data)
    message = build_message(doc, links=Links(report="https://x/" + "r" * 4000, flow_run="https://p/run"))
    assert len(message.blocks) <= MAX_BLOCKS
    assert limit_problems(message.blocks) == []
    assert block_problems(message.blocks) == []
