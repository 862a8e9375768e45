"""A campaign's ``load:`` section as a k6 script (seed 001's ``generateK6Script``). Pure: text out.

The campaign is compiled by the same planner as the built-in engine (``tasks.load.planner``), so
blocked endpoints are left out, the environment's caps clamp rates, VUs and duration, and the
thresholds are the same; only then is the plan written as JavaScript:

- the workload: one k6 scenario named ``load``. A single constant phase is a
  ``constant-arrival-rate`` (open model) or ``constant-vus`` (closed) executor; several phases are
  one ``ramping-arrival-rate`` / ``ramping-vus`` executor whose stages replay the phases (a
  ``0s`` stage where the level jumps), so phases never overlap and no iteration is cut at a
  phase boundary. Rates are iterations per second (``timeUnit`` scaled when a rate is fractional).
- the campaign's scenarios: each iteration picks one by weight (as the built-in engine does) and
  walks its steps; every request is tagged ``name=<endpoint>`` so k6 groups metrics by endpoint.
- thresholds in k6 syntax: latency on ``http_req_duration{name:…}``, ``error_rate`` on the
  ``perfcampaign_failed`` rate (status *and* expectation failures, as the built-in engine counts
  errors), ``rps`` on ``http_reqs``; ``abortOnFail`` / ``delayAbortEval`` carried over.
- CSV feeders as ``SharedArray``s, captures through ``JSON.parse`` + a JSON path, templates
  (``{{ var }}``, ``$randomInt``, ``$uuid``, ``$randomString``) rendered at run time.
- secrets never enter the script: ``${env:NAME}`` references become ``__ENV.NAME`` (``${prefect:X}``
  becomes ``__ENV.PERFCAMPAIGN_SECRET_X``), and the campaign's auth flow runs in ``setup()``.

``build_script`` returns the text plus the environment variables the script reads, so the runner
can pass resolved secrets to the k6 process (never on its command line, never in the file).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaigns import types as ctypes
from campaigns.load import LoadSpec
from tasks.load.plan import PhasePlan, Plan, RulePlan, StepPlan
from tasks.load.planner import PlanError, Planned, plan_load

RUNTIME = Path(__file__).with_name("runtime.js")
SYSTEM_TAGS = ["status", "method", "name", "scenario", "error_code", "expected_response"]
AUTH_KEY = "AUTH"
USER_AGENT = "perfcampaign-k6/0.1"
_MARK = "${perfcampaign-secret:%s}"
_LOCK = threading.Lock()


class K6Unsupported(PlanError):
    """The campaign asks for something the k6 engine does not run (the message says what instead)."""


@dataclass
class SecretRef:
    key: str            # key in the script's SECRETS table
    env: str            # the environment variable k6 reads it from
    kind: str           # env | prefect | … (a campaigns.types resolver)
    name: str           # the reference's own name

    def resolve(self) -> str:
        return ctypes.RESOLVERS[self.kind](self.name)


@dataclass
class K6Script:
    text: str
    planned: Planned
    secrets: list[SecretRef] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    needs_auth: bool = False


@contextmanager
def _deferred_references() -> Iterator[dict[str, SecretRef]]:
    """While planning, ``${env:X}`` / ``${prefect:Y}`` resolve to markers the script maps to
    ``__ENV`` lookups, so no secret value reaches the script text."""
    found: dict[str, SecretRef] = {}

    def recorder(kind: str):
        def resolve(name: str) -> str:
            env = name if kind == "env" else "PERFCAMPAIGN_SECRET_" + re.sub(r"\W", "_", name).upper()
            key = re.sub(r"\W", "_", f"{kind}_{name}")
            found.setdefault(key, SecretRef(key, env, kind, name))
            return _MARK % key
        return resolve

    with _LOCK:
        saved = dict(ctypes.RESOLVERS)
        try:
            for kind in list(saved):
                ctypes.RESOLVERS[kind] = recorder(kind)
            yield found
        finally:
            ctypes.RESOLVERS.clear()
            ctypes.RESOLVERS.update(saved)


def _js(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _pretty(value: Any, indent: int = 0) -> str:
    """JSON, indented, with short lists and mappings on one line (readable k6 options)."""
    one = _js(value)
    if len(one) + indent <= 100 or not isinstance(value, (dict, list)) or not value:
        return one
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, list):
        return "[\n" + ",\n".join(inner + _pretty(v, indent + 2) for v in value) + "\n" + pad + "]"
    return "{\n" + ",\n".join(f"{inner}{_js(k)}: {_pretty(v, indent + 2)}" for k, v in value.items()) + "\n" + pad + "}"


def _duration(seconds: float) -> str:
    ms = max(int(round(seconds * 1000)), 0)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _time_unit(rates: list[float]) -> int:
    """Seconds per k6 ``timeUnit`` so that every rate is a whole number of iterations per unit."""
    for unit in (1, 10, 100, 1000):
        if all(abs(r * unit - round(r * unit)) < 1e-6 for r in rates):
            return unit
    return 1000


def _level(p: PhasePlan, model: str, end: bool) -> float:
    if model == "open":
        return float(p.rate_to if end and p.rate_to is not None else p.rate)
    return float(p.vus_to if end and p.vus_to is not None else p.vus)


def workload(plan: Plan, graceful_stop: float) -> dict[str, Any]:
    """The k6 ``scenarios`` option for the plan's phases (one k6 scenario, see the module docstring)."""
    phases = [p for p in plan.phases if p.duration > 0]
    stop = _duration(graceful_stop)
    if plan.model == "open":
        rates = [r for p in phases for r in (p.rate, p.rate_to if p.rate_to is not None else p.rate)]
        unit = _time_unit(rates)
        peak = max(rates) if rates else 0
        max_vus = max(int(plan.max_connections), 1)
        pre = min(max_vus, max(2, math.ceil(peak * 0.5)))
        base = {"timeUnit": f"{unit}s", "preAllocatedVUs": pre, "maxVUs": max_vus, "gracefulStop": stop,
                "exec": "default"}
        if len(phases) == 1 and phases[0].rate_to is None:
            return {"load": {"executor": "constant-arrival-rate", "rate": round(phases[0].rate * unit),
                             "duration": _duration(phases[0].duration), **base}}
        stages, level = [], _level(phases[0], "open", False)
        for p in phases:
            start, end = _level(p, "open", False), _level(p, "open", True)
            if abs(start - level) > 1e-9:
                stages.append({"target": round(start * unit), "duration": "0s"})
            stages.append({"target": round(end * unit), "duration": _duration(p.duration)})
            level = end
        return {"load": {"executor": "ramping-arrival-rate", "startRate": round(_level(phases[0], "open", False) * unit),
                         "stages": stages, **base}}
    if len(phases) == 1 and phases[0].vus_to is None:
        return {"load": {"executor": "constant-vus", "vus": max(phases[0].vus, 1),
                         "duration": _duration(phases[0].duration), "gracefulStop": stop, "exec": "default"}}
    stages, level = [], _level(phases[0], "closed", False)
    for p in phases:
        start, end = _level(p, "closed", False), _level(p, "closed", True)
        if start != level:
            stages.append({"target": int(start), "duration": "0s"})
        stages.append({"target": int(end), "duration": _duration(p.duration)})
        level = end
    return {"load": {"executor": "ramping-vus", "startVUs": int(_level(phases[0], "closed", False)),
                     "stages": stages, "gracefulStop": stop, "gracefulRampDown": stop, "exec": "default"}}


_LATENCY = {"mean": "avg", "min": "min", "max": "max"}


def threshold(rule: RulePlan) -> tuple[str, str | dict[str, Any]]:
    """A rule in k6 syntax: ``(metric key, expression or {threshold, abortOnFail, delayAbortEval})``."""
    where = f"{{name:{rule.endpoint}}}" if rule.endpoint else ""
    value = f"{rule.value:g}"
    if rule.metric == "error_rate":
        key, expr = f"perfcampaign_failed{where}", f"rate{rule.op}{value}"
    elif rule.metric == "rps":
        key, expr = f"http_reqs{where}", f"rate{rule.op}{value}"
    else:
        stat = _LATENCY.get(rule.metric, rule.metric)  # p(95) is p(95) in k6 too
        key, expr = f"http_req_duration{where}", f"{stat}{rule.op}{value}"
    if rule.abort_on_fail:
        return key, {"threshold": expr, "abortOnFail": True, "delayAbortEval": _duration(rule.grace)}
    return key, expr


def _step(step: StepPlan, sid: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": sid, "name": step.name, "method": step.method}
    if step.path_values:
        out["paths"] = list(step.path_values)
    else:
        out["path"] = step.path
    if step.query:
        out["query"] = dict(step.query)
    if step.headers:
        out["headers"] = dict(step.headers)
    if step.body is not None:
        out["body"] = step.body
    if step.capture:
        out["capture"] = [list(c) for c in step.capture]
    e = step.expect
    expect: dict[str, Any] = {}
    if e.status:
        expect["status"] = list(e.status)
    if e.fields:
        expect["fields"] = list(e.fields)
    if e.values:
        expect["values"] = [list(v) for v in e.values]
    if e.body_contains is not None:
        expect["body_contains"] = e.body_contains
    if e.content_type:
        expect["content_type"] = e.content_type
    if e.max_latency_ms:
        expect["max_latency_ms"] = e.max_latency_ms
    if expect:
        out["expect"] = expect
    if step.think:
        out["think"] = step.think
    if step.condition:
        out["condition"] = step.condition
    if step.needs_body:
        out["needs_body"] = True
    return out


def render_script(plan: Plan, rules: list[RulePlan], *, title: str, secrets: dict[str, SecretRef],
                  auth_flow: dict[str, Any] | None, graceful_stop: float) -> str:
    """The k6 script for a plan (pure)."""
    thresholds: dict[str, list[Any]] = {}
    for rule in rules:
        key, expr = threshold(rule)
        thresholds.setdefault(key, []).append(expr)
    options: dict[str, Any] = {
        "scenarios": workload(plan, graceful_stop),
        "thresholds": thresholds,
        "maxRedirects": 0,                       # traffic stays on the environment's allowed hosts
        "systemTags": SYSTEM_TAGS,
        "summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"],
        "discardResponseBodies": True,           # steps that check a body ask for it
        "userAgent": USER_AGENT,
    }
    if not plan.verify_tls:
        options["insecureSkipTLSVerify"] = True
    if plan.max_rps:
        options["rps"] = max(int(plan.max_rps), 1)
    scenarios = []
    for i, sc in enumerate(plan.scenarios):
        if sc.weight <= 0 or not sc.steps:
            continue
        steps = ",\n".join(f"    {_js(_step(st, f'{i}-{j}'))}" for j, st in enumerate(sc.steps))
        scenarios.append(f"  {{ name: {_js(sc.name)}, weight: {sc.weight:g}, steps: [\n{steps},\n  ] }}")
    feeders = ",\n".join(
        f"  {_js(name)}: {{ order: {_js(plan.feeder_order.get(name, 'sequential'))}, "
        f"rows: new SharedArray({_js(name)}, () => {_js(rows)}) }}" for name, rows in plan.feeders.items())
    phases = "\n".join(f"//   {p.name or 'phase'}: {p.executor}, {p.duration:g}s, "
                       + (f"{p.rate:g}" + (f" → {p.rate_to:g}" if p.rate_to is not None else "") + " iterations/s"
                          if plan.model == "open" else
                          f"{p.vus}" + (f" → {p.vus_to}" if p.vus_to is not None else "") + " VUs")
                       for p in plan.phases)
    secret_table = ",\n".join(f"  {_js(s.key)}: __ENV[{_js(s.env)}]" for s in secrets.values())
    sources = ",\n".join(f"  {_js(s.key)}: {_js(s.env + ' (' + ('${' + s.kind + ':' + s.name + '}') + ')')}"
                         for s in secrets.values())
    total = sum(sc.weight for sc in plan.scenarios if sc.weight > 0 and sc.steps)
    parts = [
        f"// {title}",
        "// Generated by perfcampaign (tasks/k6/script.py); `perfcampaign export k6 FILE --env ENV` writes it again.",
        f"// {plan.test_type} test, {plan.model} model, {plan.duration:g}s:",
        phases,
        "// Run: k6 run script.js   (PERFCAMPAIGN_BASE_URL overrides the base URL)",
        "import http from 'k6/http';",
        "import { sleep } from 'k6';",
        "import { SharedArray } from 'k6/data';",
        "import { Counter, Rate } from 'k6/metrics';",
        "import exec from 'k6/execution';",
        "",
        f"const BASE_URL = (__ENV.PERFCAMPAIGN_BASE_URL || {_js(plan.base_url)}).replace(/\\/$/, '');",
        f"const TIMEOUT = {_js(_duration(plan.timeout))};",
        f"const ITERATION_THINK = {plan.think:g};   // closed model: pause between a VU's iterations",
        f"const COOKIES = {'true' if plan.cookies else 'false'};   // k6's per-VU jar, emptied each iteration "
        f"(false: a throwaway jar per request)",
        f"const VARIABLES = {_js(plan.variables)};",
        f"const FEEDERS = {{\n{feeders}\n}};" if feeders else "const FEEDERS = {};",
        "// secrets come from the environment, never from this file",
        f"const SECRETS = {{\n{secret_table}\n}};" if secret_table else "const SECRETS = {};",
        f"const SECRET_SOURCES = {{\n{sources}\n}};" if sources else "const SECRET_SOURCES = {};",
        f"const AUTH_FLOW = {_js(auth_flow)};",
        "",
        "// errors as the built-in engine counts them: a status not expected, or an expectation,",
        "// capture or template that failed (tags: name, kind)",
        "const failed = new Rate('perfcampaign_failed');",
        "const started = new Counter('perfcampaign_iterations_started');",
        "",
        f"export const options = {_pretty(options)};",
        "",
        "// the campaign's scenarios; each iteration picks one by weight",
        "const SCENARIOS = [\n" + ",\n".join(scenarios) + ",\n];",
        f"const TOTAL_WEIGHT = {total:g};",
        "",
        RUNTIME.read_text(encoding="utf-8"),
    ]
    return "\n".join(parts)


def build_script(spec: LoadSpec, campaign: Any, env_name: str, *, blocked: dict[str, str] | None = None,
                 feeders: dict[str, list[dict[str, str]]] | None = None, test_type: str | None = None,
                 options: dict[str, Any] | None = None, base_dir: Path | None = None,
                 for_run: bool = True) -> K6Script:
    """Plan the campaign for ``env_name`` (caps, blocked endpoints…) and write it as a k6 script.

    ``for_run`` refuses what the k6 engine cannot measure the way the stage reports it (a
    breakpoint test); an exported script keeps the breakpoint ramp with its stop rules as
    abort-on-fail thresholds."""
    notes: list[str] = []
    auth = getattr(campaign, "auth", None)
    with _deferred_references() as found:
        auth_headers = {auth.header: _MARK % AUTH_KEY} if auth is not None else None
        planned = plan_load(spec, campaign, env_name, blocked=blocked, feeders=feeders, auth_headers=auth_headers,
                            test_type=test_type, options=options, base_dir=base_dir)
        auth_flow = None
        if auth is not None and planned.needs_auth:
            req = auth.request
            auth_flow = {"request": {"method": req.method, "path": req.path,
                                     "headers": ctypes.resolve_refs(dict(req.headers)),
                                     "body": ctypes.resolve_refs(req.body)},
                         "capture": auth.capture, "format": auth.format}
    plan = planned.plan
    rules = list(planned.rules)
    if plan.breakpoint is not None:
        if for_run:
            raise K6Unsupported("engine k6 does not run breakpoint tests: k6 thresholds look at the whole run, "
                                "not at a recent window, so the last sustainable rate cannot be found; "
                                "use engine: builtin for a breakpoint test")
        rules += [RulePlan(r.metric, r.op, r.value, r.endpoint, True, max(r.grace, 5.0), r.source)
                  for r in plan.breakpoint.stop_when]
        notes.append("breakpoint: the stop rules are abort-on-fail thresholds over the whole run")
    if plan.ca_file:
        notes.append(f"tls.ca_file: k6 reads a CA bundle from SSL_CERT_FILE={plan.ca_file}")
    if (options or {}).get("shards", spec.shards) != 1:
        notes.append("shards: k6 runs as one process (it uses every core); shards do not apply")
    title = f"campaign {campaign.campaign!r}, environment {env_name!r}"
    text = render_script(plan, rules, title=title, secrets=found, auth_flow=auth_flow,
                         graceful_stop=spec.graceful_stop)
    return K6Script(text=text, planned=planned, secrets=list(found.values()), notes=notes + list(planned.notes),
                    needs_auth=auth_flow is not None)
