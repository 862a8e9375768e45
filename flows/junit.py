"""``perfcampaign run --junit FILE``: the run's gates as JUnit XML, for CI systems to display.

One ``<testsuite>`` per environment (``<campaign>.<environment>``, with the run id as a property),
one ``<testcase>`` per gate: ``classname`` is ``<environment>.<stage>``, ``name`` the gate's name
(plus its endpoint when the name does not say it). A failed gate is a ``<failure>`` whose message
gives the observed value against the limit; a stage that errored is an ``<error>``; a stage that
was skipped or refused (chaos in production) is a ``<skipped>`` test case with the reason; a stage
that ran without gates is one test case named after the stage.

The layout follows the common JUnit schema (Jenkins' junit-10 / Ant), which GitHub Actions,
GitLab and Jenkins read.
"""

from __future__ import annotations

import platform
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tasks.report.summary import SLO_STAGES, fmt_gate_value, fmt_value


def _num(value: float) -> str:
    return f"{value:.3f}"


def _gate_name(gate: dict[str, Any]) -> str:
    name = str(gate.get("name") or "gate")
    endpoint = gate.get("endpoint")
    return f"{name} [{endpoint}]" if endpoint and endpoint not in name else name


def _message(gate: dict[str, Any]) -> str:
    unit_name = str(gate.get("name", "")) if gate.get("stage") in SLO_STAGES else ""
    observed = fmt_gate_value(unit_name, gate.get("observed")) if unit_name else fmt_value(gate.get("observed"))
    limit = fmt_gate_value(unit_name, gate.get("limit")) if unit_name else fmt_value(gate.get("limit"))
    return f"observed {observed}, limit {limit}"


def build_junit(doc: dict[str, Any]) -> ET.Element:
    campaign = doc.get("campaign", "campaign")
    root = ET.Element("testsuites", name=f"perfcampaign {campaign}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for env_name, env in (doc.get("environments") or {}).items():
        suite = ET.SubElement(root, "testsuite", name=f"{campaign}.{env_name}")
        props = ET.SubElement(suite, "properties")
        for key, value in (("run_id", env.get("run_id")), ("kind", env.get("kind")), ("status", env.get("status")),
                           ("base_url", env.get("base_url")), ("flow_run_id", doc.get("flow_run_id"))):
            if value:
                ET.SubElement(props, "property", name=key, value=str(value))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite_time, started = 0.0, None
        seen: dict[tuple[str, str], int] = {}
        for stage_name, stage in (env.get("stages") or {}).items():
            classname = f"{env_name}.{stage_name}"
            status = stage.get("status")
            duration = float(stage.get("duration_s") or 0.0)
            suite_time += duration
            started = started or stage.get("started_at")
            gates = stage.get("gates") or []
            if status in ("skipped", "refused"):
                case = ET.SubElement(suite, "testcase", classname=classname, name=stage_name, time="0")
                reason = stage.get("reason") or (stage.get("summary") or {}).get("reason") or ""
                ET.SubElement(case, "skipped", message=f"{status}: {reason}".rstrip(": "))
                counts["tests"] += 1
                counts["skipped"] += 1
                continue
            if status == "error" and stage.get("error"):
                case = ET.SubElement(suite, "testcase", classname=classname, name=f"{stage_name} ran",
                                     time=_num(duration))
                err = ET.SubElement(case, "error", message=str(stage["error"])[:1000], type="infrastructure")
                err.text = str((stage.get("summary") or {}).get("traceback") or stage["error"])
                counts["tests"] += 1
                counts["errors"] += 1
            if not gates and status != "error":
                case = ET.SubElement(suite, "testcase", classname=classname, name=stage_name, time=_num(duration))
                counts["tests"] += 1
                if status == "failed":
                    ET.SubElement(case, "failure", message=stage.get("error") or "the stage failed", type="stage")
                    counts["failures"] += 1
                continue
            for gate in gates:
                name = _gate_name(gate)
                seen[(classname, name)] = seen.get((classname, name), 0) + 1
                if seen[(classname, name)] > 1:
                    name = f"{name} #{seen[(classname, name)]}"
                case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
                counts["tests"] += 1
                if not gate.get("passed"):
                    failure = ET.SubElement(case, "failure", message=_message(gate), type="gate")
                    failure.text = str(gate.get("detail") or _message(gate))
                    counts["failures"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", _num(suite_time))
        if started:
            suite.set("timestamp", str(started)[:19])
        suite.set("hostname", platform.node() or "localhost")
        total_time += suite_time
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _num(total_time))
    return root


def write_junit(doc: dict[str, Any], path: str | Path) -> Path:
    """Write the JUnit XML of a run's JSON document to ``path`` (parents created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(build_junit(doc))
    ET.indent(tree)
    tmp = target.with_name(target.name + ".tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    tmp.replace(target)
    return target
