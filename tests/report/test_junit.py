"""``--junit FILE``: one test case per gate, valid JUnit XML that CI systems read."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from flows.junit import write_junit
from tasks.document import RunDocument

DOC = json.loads((Path(__file__).resolve().parents[1] / "notify" / "run-doc.json").read_text())
ALLOWED = {"testsuites": {"name", "tests", "failures", "errors", "skipped", "time"},
           "testsuite": {"name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname"},
           "testcase": {"classname", "name", "time"}}


def parse(tmp_path: Path, doc: dict) -> ET.Element:
    path = write_junit(RunDocument.from_json(doc), tmp_path / "out" / "junit.xml")
    text = path.read_text()
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(text)


def test_one_test_case_per_gate_and_stage_outcomes(tmp_path):
    root = parse(tmp_path, DOC)
    gates = sum(len(s.get("gates", [])) for e in DOC["environments"].values() for s in e["stages"].values())
    gateless = sum(1 for e in DOC["environments"].values() for s in e["stages"].values() if not s.get("gates"))
    doubt = 1                                         # dev's load: "trustworthy numbers", a warning (policy warn)
    assert int(root.get("tests")) == gates + gateless + doubt == len(root.findall(".//testcase"))
    assert root.get("failures") == "2" and root.get("errors") == "0" and root.get("skipped") == "3"
    staging = root.find("testsuite[@name='demo.staging']")
    failed = {c.get("name"): c.find("failure") for c in staging.iter("testcase") if c.find("failure") is not None}
    assert set(failed) == {"p(95)<60 [product]", "regression p95 [product]"}
    assert failed["p(95)<60 [product]"].get("message") == "observed 71.6 ms, limit < 60 ms"
    assert "+31% vs last night" in failed["regression p95 [product]"].text
    chaos = root.find("testsuite[@name='demo.production']/testcase[@classname='production.chaos']")
    assert chaos.find("skipped").get("message") == "refused: chaos never runs in a production environment"
    props = {p.get("name"): p.get("value") for p in staging.iter("property")}
    assert props["run_id"] == DOC["run_ids"]["staging"] and props["verdict"] == "failed"
    assert props["vs_last_night_baseline"].startswith("product p95 71.6 ms: +31% vs last night")


def test_numbers_in_doubt_are_said_and_fail_with_the_fail_policy(tmp_path):
    root = parse(tmp_path, DOC)
    dev = root.find("testsuite[@name='demo.dev']")
    props = {p.get("name"): p.get("value") for p in dev.iter("property")}
    assert props["trustworthy"] == "false" and props["trust_reasons"] == "event loop stalled for up to 176 ms"
    [case] = [c for c in dev.iter("testcase") if c.get("name") == "trustworthy numbers"]
    assert case.find("failure") is None and "WARNING: numbers not trustworthy" in case.find("system-err").text
    doc = json.loads(json.dumps(DOC))
    load = doc["environments"]["dev"]["stages"]["load"]
    load["gates"].append({"stage": "load", "name": "trustworthy numbers", "passed": False, "observed": "untrustworthy",
                          "limit": "trustworthy", "endpoint": None, "detail": "event loop stalled for up to 176 ms"})
    root = parse(tmp_path, doc)
    [case] = [c for c in root.find("testsuite[@name='demo.dev']").iter("testcase")
              if c.get("name") == "trustworthy numbers"]
    assert case.find("failure") is not None and case.find("system-err") is None


def test_schema_shape_and_counts_add_up(tmp_path):
    root = parse(tmp_path, DOC)
    for element in root.iter():
        if element.tag in ALLOWED:
            assert set(element.attrib) <= ALLOWED[element.tag], element.tag
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)
        assert all(c.get("classname").startswith(suite.get("name").split(".", 1)[1] + ".") for c in cases)
        names = [(c.get("classname"), c.get("name")) for c in cases]
        assert len(names) == len(set(names))


def test_an_errored_stage_is_an_error_and_text_is_escaped(tmp_path):
    doc = json.loads(json.dumps(DOC))
    doc["environments"] = {"dev": doc["environments"]["dev"]}
    load = doc["environments"]["dev"]["stages"]["load"]
    load.update(status="error", gates=[], error="the target was unreachable: <connect> & \"refused\"",
                summary={"traceback": "Traceback…"})
    root = parse(tmp_path, doc)
    [case] = [c for c in root.iter("testcase") if c.get("classname") == "dev.load"]
    assert case.find("error").get("message") == "the target was unreachable: <connect> & \"refused\""
    assert root.get("errors") == "1"
