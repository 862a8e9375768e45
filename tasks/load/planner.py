"""Compile a campaign's ``load:`` section into a :class:`~tasks.load.plan.Plan` for one environment.

Pure: it reads the campaign, the environment, what readiness blocked and the feeders it is given,
and returns the plan plus notes for the report (endpoints left out, caps applied, thresholds).
The caps are enforced here by clamping (``max_rps`` on arrival rates and as a hard request-rate
ceiling in the engine, ``max_vus`` on VUs and connections, ``max_duration`` by cutting the
profile); each clamp is recorded in ``notes["caps"]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaigns.load import LoadSpec, Profile, Step, StepExpect, Threshold
from campaigns.templating import fill_path
from campaigns.types import resolve_refs
from tasks.load.plan import (BreakpointPlan, Expectation, PhasePlan, Plan, RulePlan, ScenarioPlan, StepPlan,
                             lcm_len)


class PlanError(ValueError):
    """The load section cannot run in this environment (every problem listed)."""


@dataclass
class Planned:
    plan: Plan
    shards: int
    profile: Profile
    rules: list[RulePlan]                      # every threshold (the gates)
    excluded: dict[str, str] = field(default_factory=dict)
    caps: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped_rules: list[dict[str, Any]] = field(default_factory=list)
    needs_auth: bool = False                   # a step targets an ``auth: true`` endpoint
    #: the environment's writes switch and what it left out: {allowed, left_out: {steps, scenarios}}
    writes: dict[str, Any] = field(default_factory=dict)


def _expectation(exp: Any) -> Expectation:
    if exp is None:
        return Expectation()
    return Expectation(status=tuple(exp.status), fields=tuple(exp.fields), values=tuple(exp.values.items()),
                       body_contains=exp.body_contains, content_type=exp.content_type,
                       max_latency_ms=exp.max_latency_ms)


def _rule(th: Threshold, source: str | None = None) -> RulePlan:
    return RulePlan(metric=th.metric or "", op=th.op or "<", value=float(th.value or 0), endpoint=th.endpoint,
                    abort_on_fail=th.abort_on_fail, grace=th.grace, source=source or th.label)


def _path_values(path: str, params: dict[str, list[Any]]) -> tuple[str, ...]:
    if not params:
        return ()
    n = lcm_len([len(v) for v in params.values()])
    return tuple(fill_path(path, {k: v[i % len(v)] for k, v in params.items()}) for i in range(n))


def default_rules(campaign: Any, env_name: str, target_rate: float | None, endpoints: list[str]) -> tuple[
        list[RulePlan], list[str]]:
    """Thresholds when the load section names none: the campaign's quality thresholds (seed 001)
    overall, plus each endpoint's domain targets (seed 000)."""
    t = campaign.thresholds
    notes = []
    rules = [RulePlan("mean", "<", t.max_mean_ms, source=f"mean<{t.max_mean_ms:g} (campaign thresholds)"),
             RulePlan("p(95)", "<", t.max_p95_ms, source=f"p(95)<{t.max_p95_ms:g} (campaign thresholds)"),
             RulePlan("error_rate", "<=", t.max_error_rate,
                      source=f"error_rate<={t.max_error_rate:g} (campaign thresholds)")]
    if t.min_rps:
        if target_rate is not None and target_rate * 0.999 < t.min_rps:
            notes.append(f"campaign min_rps {t.min_rps:g} not checked: the profile plans {target_rate:.1f}/s")
        else:
            rules.append(RulePlan("rps", ">=", t.min_rps, source=f"rps>={t.min_rps:g} (campaign thresholds)"))
    for name in endpoints:
        try:
            ep = campaign.endpoint(name)
        except KeyError:
            continue
        target = campaign.target_for(env_name, ep.domain)
        if target is None:
            continue
        for attr, metric in (("p50_ms", "p(50)"), ("p95_ms", "p(95)"), ("p99_ms", "p(99)"), ("mean_ms", "mean")):
            value = getattr(target, attr)
            if value is not None:
                rules.append(RulePlan(metric, "<", value, endpoint=name,
                                      source=f"{metric}{{endpoint:{name}}}<{value:g} (targets.{ep.domain})"))
        if target.error_rate is not None:
            rules.append(RulePlan("error_rate", "<=", target.error_rate, endpoint=name,
                                  source=f"error_rate{{endpoint:{name}}}<={target.error_rate:g} (targets.{ep.domain})"))
    return rules, notes


def plan_load(spec: LoadSpec, campaign: Any, env_name: str, *, blocked: dict[str, str] | None = None,
              feeders: dict[str, list[dict[str, str]]] | None = None, auth_headers: dict[str, str] | None = None,
              test_type: str | None = None, options: dict[str, Any] | None = None,
              base_dir: Path | None = None) -> Planned:
    options = options or {}
    blocked = blocked or {}
    env = campaign.environments[env_name]
    # allow_writes: false (the default in production): no write request is planned, whatever the engine
    writes = campaign.writes_left_out(env_name) if hasattr(campaign, "writes_left_out") else {}
    spec, left_out = spec.without_writes(writes) if getattr(env, "allow_writes", True) is False else \
        (spec, {"steps": [], "scenarios": {}})
    if left_out["scenarios"] and not spec.scenarios:
        raise PlanError(f"every scenario writes, and environment {env_name!r} does not allow writes "
                        f"(allow_writes: false): {left_out['scenarios']}")
    blocked = {**writes, **blocked}
    problems = spec.reference_errors([e.name for e in campaign.endpoints])
    if problems:
        raise PlanError("\n".join(problems))
    try:
        profile = spec.profile(test_type)
    except ValueError as exc:
        raise PlanError(str(exc)) from None

    # -- scenarios, minus what readiness blocked ----------------------------------------------
    excluded: dict[str, str] = {}
    scenarios_in = spec.scenarios
    if not scenarios_in:
        from campaigns.load import Scenario

        scenarios_in = [Scenario(name=ep.name, weight=1, steps=[Step(endpoint=ep.name)])
                        for ep in campaign.endpoints
                        if ep.method != "HEAD" and not (env.kind == "production" and ep.is_write)]
    scenarios: list[ScenarioPlan] = []
    env_headers = resolve_refs(dict(env.headers))
    for sc in scenarios_in:
        steps: list[StepPlan] = []
        for st in sc.steps:
            if st.endpoint is not None and st.endpoint in blocked:
                excluded[st.endpoint] = blocked[st.endpoint]
                continue
            steps.append(_step(st, campaign, env_headers, auth_headers))
        if steps:
            scenarios.append(ScenarioPlan(sc.name, sc.weight, tuple(steps)))
    for name, why in blocked.items():
        if any(st.endpoint == name for sc in scenarios_in for st in sc.steps):
            excluded.setdefault(name, why)
    if not scenarios or not any(s.weight > 0 for s in scenarios):
        raise PlanError("no scenario is left to run once the endpoints readiness blocked (and the writes the "
                        f"environment does not allow) are left out (excluded: {excluded or 'none'})")

    # -- profile: scale, caps ------------------------------------------------------------------
    caps_notes: dict[str, Any] = {}
    phases = [p.model_copy() for p in profile.phases]
    scale = options.get("duration_scale")
    if scale:
        for p in phases:
            p.duration = max(p.duration * float(scale), 0.5)
        caps_notes["duration_scale"] = float(scale)
    caps = env.caps
    mean_steps = sum(s.weight * len(s.steps) for s in scenarios) / (sum(s.weight for s in scenarios) or 1)
    if caps.max_duration is not None:
        total = sum(p.duration for p in phases)
        if total > caps.max_duration:
            kept, left = [], caps.max_duration
            for p in phases:
                if left <= 0:
                    break
                if p.duration > left:
                    # cut a ramp where it stands at the cut
                    if p.rate_to is not None:
                        p.rate_to = p.rate + (p.rate_to - p.rate) * left / p.duration
                    if p.vus_to is not None:
                        p.vus_to = round(p.vus + (p.vus_to - p.vus) * left / p.duration)
                    p.duration = left
                kept.append(p)
                left -= p.duration
            phases = kept
            caps_notes["max_duration"] = {"asked_s": round(total, 3), "applied_s": caps.max_duration,
                                          "action": "clamped"}
    max_connections = spec.max_vus
    if profile.model == "open":
        if caps.max_rps is not None:
            ceiling = caps.max_rps / mean_steps
            peak = max(max(p.rate, p.rate_to or 0) for p in phases)
            if peak > ceiling:
                for p in phases:
                    p.rate = min(p.rate, ceiling)
                    if p.rate_to is not None:
                        p.rate_to = min(p.rate_to, ceiling)
                caps_notes["max_rps"] = {"asked": round(peak * mean_steps, 3), "applied": caps.max_rps,
                                         "action": "clamped"}
        if caps.max_vus is not None and max_connections > caps.max_vus:
            caps_notes["max_vus"] = {"asked": max_connections, "applied": caps.max_vus, "action": "clamped",
                                     "applies_to": "connections"}
            max_connections = caps.max_vus
    else:
        if caps.max_vus is not None:
            peak_vus = max(max(p.vus, p.vus_to or 0) for p in phases)
            if peak_vus > caps.max_vus:
                for p in phases:
                    p.vus = min(p.vus, caps.max_vus)
                    if p.vus_to is not None:
                        p.vus_to = min(p.vus_to, caps.max_vus)
                caps_notes["max_vus"] = {"asked": peak_vus, "applied": caps.max_vus, "action": "clamped"}
        if caps.max_rps is not None:
            caps_notes.setdefault("max_rps", {"applied": caps.max_rps, "action": "enforced as a request-rate ceiling"})
    phases = [p for p in phases if p.duration > 0]
    if not phases:
        raise PlanError("the caps leave no phase to run")

    # -- thresholds ----------------------------------------------------------------------------
    names = []
    for sc in scenarios:
        for st in sc.steps:
            if st.name not in names:
                names.append(st.name)
    duration = sum(p.duration for p in phases)
    target_rate = (sum((p.rate + (p.rate if p.rate_to is None else p.rate_to)) / 2 * p.duration for p in phases)
                   / duration * mean_steps) if profile.model == "open" else None
    notes: list[str] = []
    skipped: list[dict[str, Any]] = []
    if spec.thresholds:
        rules = []
        for th in spec.thresholds:
            if th.endpoint is not None and th.endpoint in excluded:
                skipped.append({"threshold": th.label, "reason": f"endpoint excluded: {excluded[th.endpoint]}"})
                continue
            rules.append(_rule(th))
    else:
        rules, notes = default_rules(campaign, env_name, target_rate, names)
        notes.insert(0, "no load thresholds given: using the campaign's thresholds and domain targets")
    breakpoint = None
    if profile.breakpoint is not None:
        stop_rules = tuple(_rule(t) for t in profile.breakpoint.stop_when
                           if t.endpoint is None or t.endpoint not in excluded)
        breakpoint = BreakpointPlan(stop_when=stop_rules, window=profile.breakpoint.window)

    # -- shards, TLS ------------------------------------------------------------------------------
    shards_opt = options.get("shards", spec.shards)
    shards = (os.cpu_count() or 1) if shards_opt == "auto" else int(shards_opt)
    ca_file = spec.tls.ca_file
    if ca_file and base_dir is not None and not Path(ca_file).is_absolute():
        ca_file = str((base_dir / ca_file).resolve())

    plan = Plan(
        base_url=env.base_url, scenarios=tuple(scenarios),
        phases=tuple(PhasePlan(p.executor, p.duration, p.rate, p.rate_to, p.vus, p.vus_to, p.name) for p in phases),
        model=profile.model, max_connections=max_connections, timeout=spec.timeout,
        connect_timeout=spec.connect_timeout, think=spec.think, variables=dict(campaign.variables),
        feeders=dict(feeders or {}), feeder_order={k: v.order for k, v in campaign.data.items()},
        max_rps=caps.max_rps, rules=tuple(r for r in rules if r.abort_on_fail), breakpoint=breakpoint,
        graceful_stop=spec.graceful_stop, verify_tls=spec.tls.verify, ca_file=ca_file, seed=spec.seed,
        test_type=profile.test_type, cookies=spec.cookies)
    auth_names = {e.name for e in campaign.endpoints if e.auth}
    needs_auth = any(st.name in auth_names for sc in scenarios for st in sc.steps)
    return Planned(plan=plan, shards=max(1, shards), profile=profile, rules=rules, excluded=excluded,
                   caps=caps_notes, notes=notes, skipped_rules=skipped, needs_auth=needs_auth,
                   writes={"allowed": getattr(env, "allow_writes", True) is not False, "left_out": left_out})


def _step(st: Step, campaign: Any, env_headers: dict[str, str], auth_headers: dict[str, str] | None) -> StepPlan:
    expect: StepExpect | Any
    if st.endpoint is not None:
        ep = campaign.endpoint(st.endpoint)
        headers = {**env_headers, **resolve_refs(dict(ep.headers)), **resolve_refs(dict(st.headers))}
        if ep.auth and auth_headers:
            headers.update(auth_headers)
        params = st.params if st.params is not None else ep.params
        body = st.body if st.body is not None else ep.body
        expect = st.expect if st.expect is not None else ep.expect
        return StepPlan(name=ep.name, method=ep.method, path=ep.path if not params else "",
                        query=tuple(ep.query.items()), headers=tuple(headers.items()), body=body,
                        path_values=_path_values(ep.path, params), capture=tuple(st.capture.items()),
                        expect=_expectation(expect), think=st.think, condition=st.if_)
    req = st.request
    assert req is not None and st.name is not None
    headers = {**env_headers, **resolve_refs(dict(req.headers)), **resolve_refs(dict(st.headers))}
    return StepPlan(name=st.name, method=req.method, path=req.path, query=tuple(req.query.items()),
                    headers=tuple(headers.items()), body=st.body if st.body is not None else req.body,
                    capture=tuple(st.capture.items()), expect=_expectation(st.expect), think=st.think,
                    condition=st.if_)
