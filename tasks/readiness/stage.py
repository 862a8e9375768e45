"""Readiness stage: the campaign's endpoints through the mock detector, and what follows from it.

Mocked and missing endpoints are kept out of load and chaos (``ctx.blocked``) and become backlog
gaps with seed 000's priorities: a mock is "mock data" (medium, 1–2 days), a missing endpoint a
"missing API" (high, 3–5 days). An endpoint that could not be exercised (no id that exists, writes
not probed here, credentials missing) is ``unverified``, with its reason; it stays in load.

Writes are probed where the environment allows writes (``readiness.probe_writes``, else the
environment's ``allow_writes``, else not in production), never to an endpoint on a never-write
list; everything a probe creates is deleted afterwards, and what could not be is reported
(``summary["harm"]``). Every request is checked against the environment's allow-list before it
is sent, followed ``Location`` headers included. When nothing at all answers, the stage reports an
infrastructure failure (exit code 3).

``summary["excluded"]`` lists, for the report, every endpoint load leaves out or cannot vouch for:
``{endpoint, verdict, reason}``.
"""

from __future__ import annotations

from typing import Any

from campaigns.model import Endpoint
from campaigns.templating import MissingVariable, render
from campaigns.types import UnresolvedSecret
from tasks.base import Gate, ProgressEvent, RunContext, StageResult, TargetNotAllowed, now, register
from tasks.bounded import bounded_request
from tasks.http import AuthFailed, client, ensure_auth
from campaigns.vocabulary import BLOCKING_VERDICTS
from tasks.readiness import ProbeTarget, ReadinessVerdict, run_readiness
from tasks.readiness.models import Evidence

BACKLOG_SCOPE = "readiness:"
GAPS = {
    "mock": ("mock_data", "medium", "1-2 days", "Replace the mock behind {method} {path} ({name}) with the real implementation"),
    "missing": ("missing_api", "high", "3-5 days", "Implement {method} {path} ({name})"),
}


def allow_writes(ctx: RunContext) -> tuple[bool, str]:
    """Whether readiness may send writes here, and why not."""
    options = ctx.campaign.readiness
    if options.probe_writes is not None:
        return options.probe_writes, "readiness.probe_writes is false"
    env_switch = getattr(ctx.environment, "allow_writes", None)
    if env_switch is not None:
        return bool(env_switch), f"environment {ctx.env_name!r} does not allow writes"
    kind = ctx.environment.kind
    return kind != "production", f"writes are never probed in a {kind} environment"


def probe_target(ctx: RunContext, ep: Endpoint) -> ProbeTarget:
    """The detector's view of an endpoint: URL template with placeholders kept, samples, headers."""
    variables = ctx.variables()
    path = render(ep.path, variables)
    url = ctx.check_url(ctx.base_url + path)
    if ep.query:
        from urllib.parse import urlencode

        url += ("&" if "?" in url else "?") + urlencode(render(ep.query, variables), doseq=True)
    from campaigns.importers.contract import documented_examples

    try:
        examples = documented_examples(ctx.loaded.path, ep) if ctx.loaded is not None else {}
    except Exception:  # noqa: BLE001 - a schema that cannot be read is the contract check's to report
        examples = {}
    return ProbeTarget(name=ep.name, method=ep.method, url=url, params=dict(ep.params),
                       headers=ctx.headers_for(ep), body=render(ep.body, variables),
                       expect_status=tuple(ep.expect.status), safe=ep.method == "POST" and ep.is_safe,
                       never_write=ep.name in ctx.campaign.never_written(ctx.env_name), examples=examples)


def backlog_item(ep: Endpoint, verdict: ReadinessVerdict) -> dict[str, Any] | None:
    gap = GAPS.get(verdict.verdict)
    if gap is None:
        return None
    kind, priority, effort, title = gap
    return {"key": f"{BACKLOG_SCOPE}{verdict.verdict}:{ep.name}", "kind": kind, "priority": priority,
            "effort": effort, "endpoint": ep.name,
            "title": title.format(method=ep.method, path=ep.path, name=ep.name),
            "evidence": [e.detail for e in verdict.evidence if e.points_to == verdict.verdict][:5]}


@register
class ReadinessStage:
    name = "readiness"

    async def run(self, ctx: RunContext) -> StageResult:
        result = StageResult(stage=self.name, status="passed", started_at=now(), backlog_scope=BACKLOG_SCOPE)
        options = ctx.campaign.readiness
        writes_ok, why_not = allow_writes(ctx)
        targets, config_errors = [], {}
        async with client(options.timeout) as http:
            try:
                if any(ep.auth for ep in ctx.campaign.endpoints):
                    await ensure_auth(ctx, http)
            except AuthFailed as exc:
                result.gates.append(Gate(self.name, "auth", False, detail=str(exc)))
            endpoints = []
            for ep in ctx.campaign.endpoints:
                try:
                    targets.append(probe_target(ctx, ep))
                    endpoints.append(ep)
                except (MissingVariable, UnresolvedSecret, TargetNotAllowed) as exc:
                    config_errors[ep.name] = str(exc)

            def progress(v: ReadinessVerdict) -> None:
                ctx.emit(ProgressEvent(ctx.env_name, self.name, "item",
                                       f"{v.name}: {v.verdict} ({v.confidence:.0%})",
                                       {"endpoint": v.name, "verdict": v.verdict}))

            report = await run_readiness(targets, client=http, allow_writes=writes_ok, samples=options.samples,
                                         timeout_s=options.timeout, on_result=progress, allow=ctx.check_url,
                                         max_writes=options.max_writes, why_no_writes=why_not)
            verdicts = report.verdicts
            mismatches = await _contract_mismatches(ctx, http, endpoints, verdicts)
        checked_at = now()
        rows = []
        for ep, verdict in zip(endpoints, verdicts, strict=True):
            if ep.name in mismatches:
                verdict.evidence.extend(mismatches[ep.name])
                result.backlog.append(contract_item(ep, mismatches[ep.name]))
            ctx.verdicts[ep.name] = verdict.verdict
            if verdict.verdict in BLOCKING_VERDICTS:
                ctx.blocked[ep.name] = f"{verdict.verdict} ({verdict.confidence:.0%}): {verdict.reason}"[:300]
            elif ep.name in ctx.campaign.never_written(ctx.env_name) and ep.is_write:
                ctx.blocked[ep.name] = "on the never-write list"
            item = backlog_item(ep, verdict)
            if item:
                result.backlog.append(item)
            doc = verdict.to_dict()
            result.endpoints.append(doc)
            rows.append({"endpoint": ep.name, "method": ep.method, "url": verdict.url, "verdict": verdict.verdict,
                         "confidence": verdict.confidence, "status_code": verdict.status_code,
                         "requests": verdict.requests, "evidence": doc["evidence"], "checked_at": checked_at})
        for name, message in config_errors.items():
            ctx.verdicts[name] = "error"
            result.endpoints.append({"name": name, "verdict": "error", "confidence": 1.0,
                                     "evidence": [{"signal": "campaign-config", "points_to": "error",
                                                   "weight": 1.0, "detail": message}]})
            result.gates.append(Gate(self.name, f"config {name}", False, endpoint=name, detail=message))
        result.rows = {"readiness_checks": rows}
        counts: dict[str, int] = {}
        for v in verdicts:
            counts[v.verdict] = counts.get(v.verdict, 0) + 1
        harm = report.harm()
        result.summary = {"verdicts": counts, "blocked": dict(ctx.blocked), "probe_writes": writes_ok,
                          "mocked": [v.name for v in verdicts if v.verdict == "mock"],
                          "missing": [v.name for v in verdicts if v.verdict == "missing"],
                          "unverified": [v.name for v in verdicts if v.verdict == "unverified"],
                          "excluded": [{"endpoint": v.name, "verdict": v.verdict, "reason": v.reason,
                                        "left_out_of_load": v.verdict in BLOCKING_VERDICTS or v.name in ctx.blocked}
                                       for v in verdicts if v.verdict != "real"]
                          + [{"endpoint": n, "verdict": "error", "reason": m, "left_out_of_load": False}
                             for n, m in config_errors.items()],
                          "harm": harm,
                          "schema_mismatches": {name: [e.detail for e in ev] for name, ev in mismatches.items()}}
        if harm["left_behind"]:
            result.backlog.append(cleanup_item(harm["left_behind"]))
        if options.fail_on_mock:
            mocked = result.summary["mocked"]
            result.gates.append(Gate(self.name, "no mocked endpoints", not mocked, observed=len(mocked), limit=0,
                                     detail=", ".join(mocked)))
        if verdicts and all(v.verdict == "unreachable" for v in verdicts):
            result.infrastructure_failure = True
            result.error = f"no endpoint of {ctx.base_url} answered"
        result.status = "error" if result.infrastructure_failure else ("passed" if result.gates_passed else "failed")
        result.finished_at = now()
        return result


def cleanup_item(left: list[dict[str, Any]]) -> dict[str, Any]:
    """Objects the write probes created and no DELETE removed: someone should, and the API may
    want a way to delete them."""
    return {"key": f"{BACKLOG_SCOPE}left-behind", "kind": "test_data", "priority": "low", "effort": "0.5 day",
            "endpoint": None, "title": f"Remove {len(left)} object(s) readiness write probes could not delete",
            "evidence": [f"{c['endpoint']}: {c['url'] or c['ref']} ({c['detail']})" for c in left][:5]}


def contract_item(ep: Endpoint, evidence: list[Evidence]) -> dict[str, Any]:
    return {"key": f"{BACKLOG_SCOPE}schema:{ep.name}", "kind": "api_contract", "priority": "medium",
            "effort": "0.5-1 day", "endpoint": ep.name,
            "title": f"Make {ep.method} {ep.path} ({ep.name}) answer what its API description documents",
            "evidence": [e.detail for e in evidence][:5]}


async def _contract_mismatches(ctx: RunContext, http: Any, endpoints: list[Endpoint],
                               verdicts: list[ReadinessVerdict]) -> dict[str, list[Evidence]]:
    """One more GET per read endpoint that has a documented response schema and answered: a body
    that does not match the schema is evidence (it does not change the verdict) and a backlog gap."""
    from campaigns.importers.contract import contract_for

    out: dict[str, list[Evidence]] = {}
    for ep, verdict in zip(endpoints, verdicts, strict=True):
        if ep.method != "GET" or verdict.verdict not in ("real", "mock"):
            continue
        contract = contract_for(ctx.loaded.path, ep)
        if contract is None:
            continue
        try:
            response = await bounded_request(http, "GET", verdict.url if "{" not in verdict.url else ctx.url_for(ep, 0),
                                             headers=ctx.headers_for(ep), deadline_s=ctx.campaign.readiness.timeout,
                                             allow=ctx.check_url)
        except Exception:  # noqa: BLE001 - the probes already judged reachability
            continue
        problems = contract.check(response.status_code, response.content)
        if problems:
            out[ep.name] = [Evidence("schema-mismatch", "error", 0.0, p) for p in problems]
    return out
