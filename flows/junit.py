"""``perfcampaign run --junit FILE``: the run's gates as JUnit XML, for CI systems to display.

One ``<testsuite>`` per environment (``<campaign>.<environment>``, with the run id as a property),
one ``<testcase>`` per gate: ``classname`` is ``<environment>.<stage>``, ``name`` the gate's name
(plus its endpoint when the name does not say it). A failed gate is a ``<failure>`` whose message
gives the observed value against the limit; a stage that errored is an ``<error>``; a stage that
was skipped or refused (chaos in production) is a ``<skipped>`` test case with the reason; a stage
that ran without gates is one test case named after the stage.

A run whose numbers the load generator could not vouch for says so: the suite's properties
``trustworthy=false`` and ``trust_reasons``, and a test case ``trustworthy numbers`` — failed when the
campaign's ``verdict.untrustworthy`` is ``fail`` (a gate like any other), else passing with the
warning in ``<system-err>``. The run against last night and the baseline is the property
``vs_last_night_baseline``; its regressions are failed ``regression …`` gates.

The layout follows the common JUnit schema (Jenkins' junit-10 / Ant), which GitHub Actions,
GitLab and Jenkins read. Input: the run document (``tasks.document.RunDocument``).
"""

from __future__ import annotations

import platform
import xml.etree.ElementTree as ET
from pathlib import Path

from tasks.base import Gate
from tasks.document import TRUST_GATE, RunDocument
from tasks.report.summary import SLO_STAGES, fmt_gate_value, fmt_value, summarize


def _num(value: float) -> str:
    return f"{value:.3f}"


def _gate_name(gate: Gate) -> str:
    name = gate.name or "gate"
    return f"{name} [{gate.endpoint}]" if gate.endpoint and gate.endpoint not in name else name


def _message(gate: Gate) -> str:
    unit_name = gate.name if gate.stage in SLO_STAGES else ""
    observed = fmt_gate_value(unit_name, gate.observed) if unit_name else fmt_value(gate.observed)
    limit = fmt_gate_value(unit_name, gate.limit) if unit_name else fmt_value(gate.limit)
    return f"observed {observed}, limit {limit}"


def build_junit(doc: RunDocument) -> ET.Element:
    campaign = doc.campaign
    root = ET.Element("testsuites", name=f"perfcampaign {campaign}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    summaries = {e.name: e for e in summarize(doc).environments}
    for env_name, env in doc.environments.items():
        summary = summaries[env_name]
        suite = ET.SubElement(root, "testsuite", name=f"{campaign}.{env_name}")
        props = ET.SubElement(suite, "properties")
        for key, value in (("run_id", env.run_id), ("kind", env.kind), ("status", env.status),
                           ("verdict", summary.verdict), ("base_url", env.base_url),
                           ("flow_run_id", doc.flow_run_id),
                           ("trustworthy", "false" if not env.trust.trustworthy else None),
                           ("trust_reasons", "; ".join(env.trust.reasons) or None),
                           ("vs_last_night_baseline", summary.vs or None)):
            if value:
                ET.SubElement(props, "property", name=key, value=str(value))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite_time, started = 0.0, None
        seen: dict[tuple[str, str], int] = {}
        for stage_name, stage in env.stages.items():
            classname = f"{env_name}.{stage_name}"
            status = stage.status
            duration = float(stage.duration_s or 0.0)
            suite_time += duration
            started = started or stage.started_at
            if not stage.ran:
                case = ET.SubElement(suite, "testcase", classname=classname, name=stage_name, time="0")
                ET.SubElement(case, "skipped", message=f"{status}: {stage.reason or ''}".rstrip(": "))
                counts["tests"] += 1
                counts["skipped"] += 1
                continue
            if status == "error" and stage.error:
                case = ET.SubElement(suite, "testcase", classname=classname, name=f"{stage_name} ran",
                                     time=_num(duration))
                err = ET.SubElement(case, "error", message=stage.error[:1000], type="infrastructure")
                err.text = str((stage.summary.model_extra or {}).get("traceback") or stage.error)
                counts["tests"] += 1
                counts["errors"] += 1
            gates = list(stage.gates)
            doubt = (stage_name == "load" and status != "error" and not env.trust.trustworthy
                     and not any(g.name == TRUST_GATE for g in gates))
            if not gates and status != "error" and not doubt:
                case = ET.SubElement(suite, "testcase", classname=classname, name=stage_name, time=_num(duration))
                counts["tests"] += 1
                if status == "failed":
                    ET.SubElement(case, "failure", message=stage.error or "the stage failed", type="stage")
                    counts["failures"] += 1
                continue
            for gate in gates:
                name = _gate_name(gate)
                seen[(classname, name)] = seen.get((classname, name), 0) + 1
                if seen[(classname, name)] > 1:
                    name = f"{name} #{seen[(classname, name)]}"
                case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
                counts["tests"] += 1
                if not gate.passed:
                    failure = ET.SubElement(case, "failure", message=_message(gate), type="gate")
                    failure.text = gate.detail or _message(gate)
                    counts["failures"] += 1
            if doubt:  # warn: a passing case that says so (fail: the gate above already failed)
                case = ET.SubElement(suite, "testcase", classname=classname, name=TRUST_GATE, time="0")
                ET.SubElement(case, "system-err").text = f"WARNING: {env.trust.line}"
                counts["tests"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", _num(suite_time))
        if started:
            suite.set("timestamp", started.strftime("%Y-%m-%dT%H:%M:%S"))
        suite.set("hostname", platform.node() or "localhost")
        total_time += suite_time
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _num(total_time))
    return root


def write_junit(doc: RunDocument, path: str | Path) -> Path:
    """Write the JUnit XML of a run document to ``path`` (parents created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(build_junit(doc))
    ET.indent(tree)
    tmp = target.with_name(target.name + ".tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    tmp.replace(target)
    return target
