"""Smoke stage: one request per endpoint, checked against its expectations.

Endpoints that readiness found mocked or missing are still requested (the result is useful) but do
not gate the run: they are known backlog gaps, not regressions. Writes (POST/PUT/PATCH/DELETE) are
never sent to a production environment: a smoke test does not create data there.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from campaigns.model import Endpoint
from campaigns.templating import MissingVariable, render
from campaigns.types import UnresolvedSecret
from tasks.base import Gate, ProgressEvent, RunContext, StageResult, TargetNotAllowed, now, register
from tasks.http import AuthFailed, check_response, classify_error, client, elapsed_ms, ensure_auth


@register
class SmokeStage:
    name = "smoke"

    async def run(self, ctx: RunContext) -> StageResult:
        result = StageResult(stage=self.name, status="passed", started_at=now())
        options = ctx.campaign.smoke
        async with client(options.timeout) as http:
            try:
                if any(ep.auth for ep in ctx.campaign.endpoints):
                    await ensure_auth(ctx, http)
            except AuthFailed as exc:
                result.gates.append(Gate(self.name, "auth", False, detail=str(exc)))
            semaphore = asyncio.Semaphore(8)

            async def one(ep: Endpoint) -> dict[str, Any]:
                async with semaphore:
                    return await self._check(ctx, http, ep)

            checks = await asyncio.gather(*(one(ep) for ep in ctx.campaign.endpoints))
        for ep, check in zip(ctx.campaign.endpoints, checks, strict=True):
            result.endpoints.append(check)
            if check["gating"] and check["outcome"] != "skipped":
                result.gates.append(Gate(self.name, f"smoke {ep.name}", check["passed"],
                                         observed=check["status_code"], endpoint=ep.name,
                                         limit=ep.expect.status or "2xx", detail="; ".join(check["failures"])))
        result.rows = {
            "smoke_checks": [
                {"endpoint": c["name"], "method": c["method"], "url": c["url"], "status_code": c["status_code"],
                 "latency_ms": c["latency_ms"], "passed": c["passed"], "gating": c["gating"],
                 "failures": c["failures"], "checked_at": c["checked_at"]}
                for c in checks if c["outcome"] != "skipped"],
            "endpoint_metrics": [
                {"stage": self.name, "endpoint": c["name"], "method": c["method"], "requests": 1,
                 "errors": 0 if c["passed"] else 1, "error_rate": 0.0 if c["passed"] else 1.0,
                 "mean_ms": c["latency_ms"], "min_ms": c["latency_ms"], "p50_ms": c["latency_ms"],
                 "p90_ms": c["latency_ms"], "p95_ms": c["latency_ms"], "p99_ms": c["latency_ms"],
                 "max_ms": c["latency_ms"],
                 "status_codes": {str(c["status_code"]): 1} if c["status_code"] else {},
                 "errors_by_kind": {c["error_kind"]: 1} if c["error_kind"] else {}}
                for c in checks if c["outcome"] != "skipped"],
        }
        gating = [c for c in checks if c["gating"] and c["outcome"] != "skipped"]
        unreachable = [c for c in gating if c["error_kind"] in ("connect", "timeout")]
        if gating and len(unreachable) == len(gating):
            result.infrastructure_failure = True
            result.error = f"target unreachable: {unreachable[0]['failures'][0]}"
        result.summary = {
            "checked": sum(c["outcome"] != "skipped" for c in checks),
            "passed": sum(c["passed"] for c in gating),
            "failed": sum(not c["passed"] for c in gating),
            "not_gating": [c["name"] for c in checks if not c["gating"]],
            "skipped": {c["name"]: c["reason"] for c in checks if c["outcome"] == "skipped"},
        }
        result.status = "error" if result.infrastructure_failure else ("passed" if result.gates_passed else "failed")
        result.finished_at = now()
        return result

    async def _check(self, ctx: RunContext, http: httpx.AsyncClient, ep: Endpoint) -> dict[str, Any]:
        verdict = ctx.verdicts.get(ep.name)
        gating = ep.name not in ctx.blocked
        out: dict[str, Any] = {
            # the URL as written until it renders: a row never lacks one (smoke_checks.url is NOT NULL)
            "name": ep.name, "method": ep.method, "url": ctx.base_url + ep.path, "status_code": None,
            "latency_ms": None,
            "passed": False, "gating": gating, "failures": [], "error_kind": None, "outcome": "checked",
            "readiness": verdict, "reason": None, "checked_at": now(),
        }
        if not gating:
            out["reason"] = f"readiness: {ctx.blocked[ep.name]}"
        if ep.is_write and ctx.environment.kind == "production":
            out.update(outcome="skipped", reason="writes are never sent to a production environment", passed=True)
            return out
        try:
            variables = ctx.variables()
            url = ctx.url_for(ep, 0, variables)
            headers = ctx.headers_for(ep)
            body = render(ep.body, variables)
        except (MissingVariable, UnresolvedSecret, TargetNotAllowed) as exc:
            out.update(failures=[str(exc)], error_kind="config")
            return out
        out["url"] = url
        start = time.perf_counter()
        try:
            response = await http.request(ep.method, url, headers=headers,
                                          **_body(body))
        except httpx.HTTPError as exc:
            out.update(latency_ms=round(elapsed_ms(start), 3), error_kind=classify_error(exc),
                       failures=[f"{classify_error(exc)}: {exc or type(exc).__name__}"])
            ctx.emit(ProgressEvent(ctx.env_name, "smoke", "item", f"{ep.name}: {out['failures'][0]}",
                                   {"endpoint": ep.name, "passed": False}))
            return out
        latency = elapsed_ms(start)
        check = check_response(ep.expect, response.status_code, response.headers, response.content, latency,
                               ctx.campaign.smoke.max_latency_ms)
        mismatches = _contract_failures(ctx, ep, response.status_code, response.content)
        if mismatches:
            check.failures.extend(mismatches)
            check.passed = False
        out.update(status_code=response.status_code, latency_ms=round(latency, 3), passed=check.passed,
                   failures=check.failures,
                   error_kind=None if response.status_code < 400 else f"status_{response.status_code // 100}xx")
        mark = "ok" if check.passed else "FAIL"
        ctx.emit(ProgressEvent(ctx.env_name, "smoke", "item",
                               f"{ep.name}: {response.status_code} in {latency:.1f} ms {mark}",
                               {"endpoint": ep.name, "passed": check.passed, "gating": gating}))
        return out


def _contract_failures(ctx: RunContext, ep: Endpoint, status: int, body: bytes) -> list[str]:
    """A 2xx body that does not match the endpoint's documented response schema is a failure."""
    from campaigns.importers.contract import contract_for

    contract = contract_for(ctx.loaded.path, ep)
    return contract.check(status, body) if contract is not None else []


def _body(body: object) -> dict[str, object]:
    """httpx's keyword for a body: text (a form or multipart body, encoded when the campaign loaded) as
    it is, anything else as JSON."""
    if body is None:
        return {}
    return {"content": body} if isinstance(body, (str, bytes)) else {"json": body}
