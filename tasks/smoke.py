"""Smoke stage: one request per endpoint, checked against its expectations — and no harm done.

Endpoints that readiness found mocked or missing are still requested (the result is useful) but do
not gate the run: they are known backlog gaps, not regressions.

Writes follow readiness's rules (:mod:`tasks.readiness.ledger`):

* never where the environment allows no writes (production by default), never to an endpoint on
  a never-write list, never a destructive operation (bulk deletes, resets, purges…): those are
  skipped with the reason;
* a POST gets unique values (``name`` → ``samplepc3f9a1b``), never the campaign's fixed ones, and
  what it creates is deleted right after its check (the campaign's own DELETE for the collection,
  else the ``Location``, else ``{collection}/{id}``); what cannot be deleted is reported in
  ``summary["harm"]``;
* a PUT/PATCH on the campaign's sample reads it first and puts the previous values back; when the
  current value cannot be read, it is not sent (it could not be put back, and a PUT might create);
* a DELETE only removes an object the stage created for it with the collection's POST — never the
  campaign's sample.

POSTs that only read (``safe``: filter, count, search…) are checked like GETs, in production too.
Every request goes through :func:`tasks.bounded.bounded_request` with the environment's allow-list.
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
from tasks.bounded import bounded_request
from tasks.http import AuthFailed, check_response, classify_error, client, elapsed_ms, ensure_auth
from tasks.readiness.identifiers import IdPool, addressed_fields, slots, strip_url
from tasks.readiness.ledger import ItemRoute, Ledger, destructive, item_urls, made_list, new_token, uniquify
from tasks.readiness.probe import Prober

MAX_BODY_BYTES = 4 * 1024 * 1024


def writes_allowed(ctx: RunContext) -> tuple[bool, str]:
    """Whether this environment takes writes, and why not: its ``allow_writes`` switch when the
    campaign model has one, else every kind but production."""
    switch = getattr(ctx.environment, "allow_writes", None)
    if switch is not None:
        return bool(switch), f"environment {ctx.env_name!r} does not allow writes"
    return ctx.environment.kind != "production", "writes are never sent to a production environment"


@register
class SmokeStage:
    name = "smoke"

    async def run(self, ctx: RunContext) -> StageResult:
        result = StageResult(stage=self.name, status="passed", started_at=now())
        options = ctx.campaign.smoke
        ledger = Ledger(IdPool(), deletes=[ItemRoute(ep.name, ctx.base_url + ep.path, {}) for ep in
                                           ctx.campaign.endpoints if ep.method == "DELETE" and slots(ep.path)])
        async with client(options.timeout) as http:
            try:
                if any(ep.auth for ep in ctx.campaign.endpoints):
                    await ensure_auth(ctx, http)
            except AuthFailed as exc:
                result.gates.append(Gate(self.name, "auth", False, detail=str(exc)))
            semaphore = asyncio.Semaphore(8)
            writes_lock = asyncio.Lock()   # writes one at a time: a DELETE never races the POST it needs

            async def one(ep: Endpoint) -> dict[str, Any]:
                if ep.is_write:
                    async with writes_lock:
                        return await self._check(ctx, http, ep, ledger)
                async with semaphore:
                    return await self._check(ctx, http, ep, ledger)

            reads = [ep for ep in ctx.campaign.endpoints if not ep.is_write]
            writes = sorted((ep for ep in ctx.campaign.endpoints if ep.is_write), key=lambda e: e.method == "DELETE")
            done = dict(zip([e.name for e in reads], await asyncio.gather(*(one(ep) for ep in reads)), strict=True))
            for ep in writes:
                done[ep.name] = await one(ep)
            checks = [done[ep.name] for ep in ctx.campaign.endpoints]
            await self._cleanup(ctx, http, ledger)
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
        left = [c.to_dict() for c in ledger.created if c.state in ("created", "left")]
        result.summary = {
            "checked": sum(c["outcome"] != "skipped" for c in checks),
            "passed": sum(c["passed"] for c in gating),
            "failed": sum(not c["passed"] for c in gating),
            "not_gating": [c["name"] for c in checks if not c["gating"]],
            "skipped": {c["name"]: c["reason"] for c in checks if c["outcome"] == "skipped"},
            "harm": {"created": len(ledger.created), "removed": len(ledger.created) - len(left), "left_behind": left},
        }
        result.status = "error" if result.infrastructure_failure else ("passed" if result.gates_passed else "failed")
        result.finished_at = now()
        return result

    # -- one endpoint --------------------------------------------------------------------------------
    async def _check(self, ctx: RunContext, http: httpx.AsyncClient, ep: Endpoint, ledger: Ledger) -> dict[str, Any]:
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
        skip = self._skip_reason(ctx, ep)
        if skip:
            out.update(outcome="skipped", reason=skip, passed=True)
            return out
        try:
            variables = ctx.variables()
            url = ctx.url_for(ep, 0, variables)
            headers = ctx.headers_for(ep)
            body = render(ep.body, variables)
        except (MissingVariable, UnresolvedSecret, TargetNotAllowed) as exc:
            out.update(failures=[str(exc)], error_kind="config")
            return out
        restore: tuple[str, Any] | None = None
        original, made_unique = body, []
        if ep.is_write:
            body, made_unique = uniquify(body, new_token()) if ep.method == "POST" else (body, [])
            if ep.method == "DELETE":
                url = await self._own_object(ctx, http, ep, ledger, url)
                if url is None:
                    out.update(outcome="skipped", passed=True,
                               reason="smoke deletes only what it created, and the campaign has no POST for this "
                                      "collection: the sample is not deleted")
                    return out
            elif ep.method in ("PUT", "PATCH"):
                if ep.method == "PATCH" and isinstance(body, dict):
                    # never the field the route addresses the object by: JupyterHub renames a user
                    # (to None) on a PATCH /users/{name} carrying "name" (readiness does the same)
                    kept = {k: v for k, v in body.items() if str(k).lower() not in addressed_fields(ep.path)}
                    body = kept if kept else body
                restore = await self._current(ctx, http, url, headers, ep.method, body)
                if restore is None:
                    out.update(outcome="skipped", passed=True,
                               reason=f"the sample's current value could not be read, so a {ep.method} could not be "
                                      f"put back (and might create it): not sent")
                    return out
        out["url"] = url
        before_lists = {n: await self._list_ids(ctx, http, ep, link) for n, link in enumerate(self._links(ctx, ep))}
        start = time.perf_counter()
        try:
            response = await bounded_request(http, ep.method, url, headers=headers, max_bytes=MAX_BODY_BYTES,
                                             deadline_s=ctx.campaign.smoke.timeout, allow=ctx.check_url,
                                             **_body(body))
        except PermissionError as exc:
            out.update(failures=[str(exc)], error_kind="config")
            return out
        except httpx.HTTPError as exc:
            out.update(latency_ms=round(elapsed_ms(start), 3), error_kind=classify_error(exc),
                       failures=[f"{classify_error(exc)}: {exc or type(exc).__name__}"])
            ctx.emit(ProgressEvent(ctx.env_name, "smoke", "item", f"{ep.name}: {out['failures'][0]}",
                                   {"endpoint": ep.name, "passed": False}))
            return out
        latency = elapsed_ms(start)
        if made_unique and response.status_code in (400, 401, 403, 409, 422):
            # the unique values were refused (a sign-in checks the e-mail it gets): the campaign's own
            try:
                start = time.perf_counter()
                response = await bounded_request(http, ep.method, url, headers=headers, max_bytes=MAX_BODY_BYTES,
                                                 deadline_s=ctx.campaign.smoke.timeout, allow=ctx.check_url,
                                                 **_body(original))
                latency = elapsed_ms(start)
            except (httpx.HTTPError, PermissionError):
                pass
        if ep.is_write and response.is_success:
            if ep.method == "POST":
                entries = self._record(ledger, ep, url, response, body)
                if entries:  # removed at once: no object lives longer than its check
                    made = await self._made_by_target(ctx, http, ledger, ep, entries[0], before_lists)
                    for entry in entries + made:
                        await self._remove(ctx, http, ledger, entry)
            elif ep.method == "DELETE":
                entry = ledger.find(url)
                if entry is not None:
                    ledger.mark(entry, "deleted", f"deleted by smoke's check of {ep.name}")
            elif restore is not None:
                await self._restore(ctx, http, url, headers, ep.method, restore)
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

    @staticmethod
    def _skip_reason(ctx: RunContext, ep: Endpoint) -> str | None:
        if not ep.is_write:
            return None
        ok, why = writes_allowed(ctx)
        if not ok:
            return why
        if ep.name in ctx.campaign.never_written(ctx.env_name):
            return "on the campaign's never-write list"
        danger = destructive(ep.method, ep.path, ep.body)
        if danger:
            return f"not sent: {danger}"
        readiness = ctx.results.get("readiness")
        withheld = ((readiness.summary.get("harm") or {}).get("withheld") or {}) if readiness else {}
        if ep.name in withheld:  # readiness found no way to remove what it creates
            return f"readiness: {withheld[ep.name]}"
        under = _under_sample(ctx, ep)
        if under:
            return under
        return None

    @staticmethod
    def _record(ledger: Ledger, ep: Endpoint, url: str, response: Any, sent: Any = None) -> list[Any]:
        """What the POST made: one object, or each of a bulk create's list (Directus answers
        ``{"data": [{"id": 3}, …]}`` to a list body)."""
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        collection = url.partition("?")[0]
        listed = made_list(data)
        if listed is not None and response.headers.get("location") is None:
            made = [ledger.record(ep.name, collection, item, None, url) for item in listed[:20]]
            return [e for e in made if e is not None]
        entry = ledger.record(ep.name, collection, data, response.headers.get("location"), url)
        if entry is None and response.is_success and data in (None, {}):
            # Chroma answers {} to POST …/databases: what it made is the unique name that was sent
            entry = ledger.record_sent(ep.name, collection, sent, url)
        return [entry] if entry is not None else []

    @staticmethod
    def _links(ctx: RunContext, ep: Endpoint) -> list[dict[str, Any]]:
        readiness = ctx.results.get("readiness")
        links = ((readiness.summary.get("harm") or {}).get("made_by_target") or []) if readiness else []
        return [link for link in links if link.get("endpoint") == ep.name and link.get("list")]

    async def _list_ids(self, ctx: RunContext, http: httpx.AsyncClient, ep: Endpoint,
                        link: dict[str, Any]) -> dict[str, dict] | None:
        from tasks.readiness.content import extract_list
        from tasks.readiness.identifiers import object_id

        lst = link["list"]
        try:
            found = await bounded_request(http, lst.get("method", "GET"), lst["url"], headers=ctx.headers_for(ep),
                                          json=lst.get("body"), deadline_s=ctx.campaign.smoke.timeout,
                                          allow=ctx.check_url)
            items = extract_list(found.json()) if found.is_success else None
        except (httpx.HTTPError, PermissionError, ValueError, KeyError, MissingVariable, UnresolvedSecret):
            return None
        return {str(object_id(i)): i for i in items or [] if isinstance(i, dict)} if items is not None else None

    async def _made_by_target(self, ctx: RunContext, http: httpx.AsyncClient, ledger: Ledger, ep: Endpoint,
                              entry: Any, before: dict[int, dict[str, dict] | None]) -> list[Any]:
        """What readiness saw the target make for an object of this endpoint (a default pool for a
        queue): an object that was not in the same list before smoke's POST and that the new object
        refers to. Anything that was there before is left alone."""
        obj = ledger.object_of(entry)
        out = []
        for n, link in enumerate(self._links(ctx, ep)):
            ref = obj.get(link.get("field"))
            if ref in (None, "") or before.get(n) is None or str(ref) in before[n]:  # type: ignore[operator]
                continue
            now = await self._list_ids(ctx, http, ep, link) or {}
            if str(ref) in now:
                made = ledger.record(f"{ep.name} (made by the target for it)", link["collection"], now[str(ref)],
                                     None, link["list"]["url"])
                if made is not None:
                    out.append(made)
        return out

    async def _remove(self, ctx: RunContext, http: httpx.AsyncClient, ledger: Ledger, entry: Any) -> None:
        ep = next((e for e in ctx.campaign.endpoints if e.name == entry.endpoint), None)
        try:
            headers = ctx.headers_for(ep) if ep is not None else {}
        except (MissingVariable, UnresolvedSecret):
            headers = {}
        await ledger.remove(entry, Prober(http, ctx.campaign.smoke.timeout, 12, allow=ctx.check_url), headers)

    async def _own_object(self, ctx: RunContext, http: httpx.AsyncClient, ep: Endpoint, ledger: Ledger,
                          url: str) -> str | None:
        """An object for a DELETE to remove: one smoke created in that collection (it was going to
        be cleaned up anyway), else one made now with the campaign's POST there."""
        sl = slots(ep.path)
        if not sl or len(sl) > 1:
            return None
        collection = strip_url(ctx.base_url + sl[-1].collection)
        found = self._own_object_url(ep, ledger, collection, ctx)
        if found is not None:
            return found
        creator = next((e for e in ctx.campaign.endpoints if e.method == "POST" and not e.is_safe
                        and not slots(e.path) and strip_url(ctx.base_url + e.path) == collection), None)
        if creator is None or self._skip_reason(ctx, creator):
            return None
        try:
            body, _ = uniquify(render(creator.body, ctx.variables()), new_token())
            made_url = ctx.url_for(creator, 0)
            before = {n: await self._list_ids(ctx, http, creator, link)
                      for n, link in enumerate(self._links(ctx, creator))}
            response = await bounded_request(http, "POST", made_url, headers=ctx.headers_for(creator), **_body(body),
                                             deadline_s=ctx.campaign.smoke.timeout, allow=ctx.check_url)
        except (httpx.HTTPError, PermissionError, MissingVariable, UnresolvedSecret):
            return None
        if not response.is_success:
            return None
        entries = self._record(ledger, creator, made_url, response)
        if entries:  # what the target made for it goes when the DELETE check has run (stage end)
            await self._made_by_target(ctx, http, ledger, creator, entries[0], before)
        return self._own_object_url(ep, ledger, collection, ctx)

    @staticmethod
    def _own_object_url(ep: Endpoint, ledger: Ledger, collection: str, ctx: RunContext) -> str | None:
        for entry in ledger.own(collection):
            urls = item_urls([ItemRoute(ep.name, ctx.base_url + ep.path)], entry.collection, ledger.object_of(entry),
                             entry.ref)
            if urls:
                return urls[0][0]
        return None

    @staticmethod
    async def _current(ctx: RunContext, http: httpx.AsyncClient, url: str, headers: dict[str, str], method: str,
                       body: Any) -> tuple[str, Any] | None:
        """The sample's values before a PUT/PATCH changes them (None when they cannot be read)."""
        try:
            before = await bounded_request(http, "GET", url, headers=headers, deadline_s=ctx.campaign.smoke.timeout,
                                           allow=ctx.check_url)
            current = before.json() if before.is_success else None
        except (httpx.HTTPError, PermissionError, ValueError):
            return None
        if not isinstance(current, dict):
            return None
        if method == "PUT":
            return method, current
        keys = [k for k in (body or {}) if k in current] if isinstance(body, dict) else []
        return (method, {k: current[k] for k in keys}) if keys else None

    @staticmethod
    async def _restore(ctx: RunContext, http: httpx.AsyncClient, url: str, headers: dict[str, str], method: str,
                       restore: tuple[str, Any]) -> None:
        try:
            await bounded_request(http, method, url, headers=headers, json=restore[1],
                                  deadline_s=ctx.campaign.smoke.timeout, allow=ctx.check_url)
        except (httpx.HTTPError, PermissionError):
            pass

    async def _cleanup(self, ctx: RunContext, http: httpx.AsyncClient, ledger: Ledger) -> None:
        """Delete what smoke's POSTs created, newest first."""
        by_name = {ep.name: ep for ep in ctx.campaign.endpoints}

        def headers_for(entry: Any) -> dict[str, str]:
            ep = by_name.get(entry.endpoint)
            try:
                return ctx.headers_for(ep) if ep is not None else {}
            except (MissingVariable, UnresolvedSecret):
                return {}

        await ledger.cleanup(lambda: Prober(http, ctx.campaign.smoke.timeout, 12, allow=ctx.check_url), headers_for)


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


def _under_sample(ctx: RunContext, ep: Endpoint) -> str | None:
    """A POST addressed to one of the campaign's existing objects (``/items/{id}/movements``,
    ``/tickets/{id}/-/update``, ``/orders/{id}/cancel``) adds to or changes that object. Smoke sends it
    only when the campaign has a DELETE for what it adds (``/items/{id}/movements/{mid}``): otherwise
    nothing could undo it on the team's data. Readiness checks such a write on an object it created
    itself, and removes that object afterwards."""
    if ep.method != "POST" or not slots(ep.path):
        return None
    template = ep.path.partition("?")[0].rstrip("/")
    for other in ctx.campaign.endpoints:
        if other.method == "DELETE":
            path = other.path.partition("?")[0].rstrip("/")
            head, _, last = path.rpartition("/")
            if head == template and last.startswith("{") and last.endswith("}"):
                return None
    return ("not sent: a POST under the campaign's sample object changes it, and the campaign has no DELETE "
            "for what it adds (readiness checks it on an object of its own; mark it safe: true if it only reads)")
