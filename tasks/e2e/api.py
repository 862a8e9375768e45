"""API journeys: ordered HTTP steps with variables, captures, conditions and expectations (httpx).

Each journey is a virtual user with its own cookie jar (it starts empty; a ``Set-Cookie`` answer is
sent back on the journey's next steps, as Artillery and k6 do; ``e2e.options.cookies: false`` turns
it off). Variables start as the campaign's variables plus the first row of each CSV feeder; ``capture``
adds values from JSON bodies (JSON paths) and ``capture_headers`` from response headers. A step
with ``if: token`` runs only when ``token`` is set and truthy (``if: "!token"``: only when it is
not), as Artillery's ``ifTrue`` does. A capture that finds nothing leaves the variable unset; it
fails the step only when the response was a 2xx (a 401 to a sign-in is allowed to carry no token).

A step that names an ``auth: true`` endpoint and sends no ``Authorization`` header of its own gets
the campaign's auth flow token (obtained once per run). Writes are never sent to an environment
whose ``allow_writes`` is false, the default in production (the step is skipped). After the first
failed step the rest are skipped, unless the journey sets ``continue_on_failure``; a failure on an endpoint readiness found mocked or
missing is recorded but does not fail the journey (a known gap, not a regression).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from campaigns import jsonpath
from campaigns.e2e import ApiJourney, ApiStep
from campaigns.model import WRITE_METHODS, Expect
from campaigns.redact import redact_text, redact_url
from campaigns.templating import MissingVariable, fill_path, has_template, lookup, render
from campaigns.types import UnresolvedSecret, resolve_refs
from tasks import safejson
from tasks.base import ProgressEvent, RunContext, TargetNotAllowed, now
from tasks.e2e.friction import EndpointMatcher
from tasks.e2e.session import NetworkCall, Session, StepRecord
from tasks.bounded import DEFAULT_DEADLINE_S, bounded_request
from tasks.http import AuthFailed, check_response, classify_error, elapsed_ms, ensure_auth

MAX_BODY = 512_000


def condition_holds(variables: dict[str, Any], condition: str) -> bool:
    """``name`` holds when the variable is set and truthy; ``!name`` when it is not."""
    text = condition.strip()
    negate = text.startswith("!")
    name = text.lstrip("!").strip()
    try:
        value = lookup(variables, name)
    except MissingVariable:
        value = None
    holds = bool(value) and value not in ("undefined", "null")
    return not holds if negate else holds


class _Request:
    """What a step sends, rendered."""

    def __init__(self, method: str, url: str, headers: dict[str, str], body: Any, expect: Expect,
                 endpoint: str | None, template: str | None, needs_auth: bool):
        self.method, self.url, self.headers, self.body = method, url, headers, body
        self.expect, self.endpoint, self.template, self.needs_auth = expect, endpoint, template, needs_auth


def build_request(ctx: RunContext, step: ApiStep, variables: dict[str, Any], matcher: EndpointMatcher) -> _Request:
    """Render a step into a request; raises MissingVariable, UnresolvedSecret or TargetNotAllowed."""
    env_headers = dict(ctx.environment.headers)
    if step.endpoint:
        ep = ctx.campaign.endpoint(step.endpoint)
        path = fill_path(ep.path, {k: v[0] for k, v in ep.params.items()})
        query: dict[str, Any] = {**ep.query, **step.query}
        headers = {**env_headers, **ep.headers, **step.headers}
        body = step.body if step.body is not None else ep.body
        expect = step.expect or ep.expect
        method, name, template, needs_auth = ep.method, ep.name, ep.path.split("?", 1)[0], ep.auth
    else:
        method = step.method or "GET"
        path, query, body = step.path or "/", dict(step.query), step.body
        headers = {**env_headers, **step.headers}
        expect = step.expect or Expect()
        name, template, needs_auth = None, None, False
    path = render(path, variables)
    url = ctx.base_url + path
    if query:
        url += ("&" if "?" in url else "?") + urlencode(render(query, variables), doseq=True)
    ctx.check_url(url)
    if name is None:
        match = matcher.match(method, url)
        if match:
            name, template = match
    if has_template(expect.values) or has_template(expect.body_contains):
        expect = expect.model_copy(update={"values": render(expect.values, variables),
                                           "body_contains": render(expect.body_contains, variables)})
    rendered = render(resolve_refs(headers), variables)
    has_auth = any(k.lower() == "authorization" for k in rendered)
    return _Request(method, url, {k: str(v) for k, v in rendered.items()}, render(resolve_refs(body), variables),
                    expect, name, template, needs_auth and not has_auth)


def _endpoint(ctx: RunContext, name: str) -> Any:
    try:
        return ctx.campaign.endpoint(name)
    except KeyError:
        return None


def _keeps_cookies(ctx: RunContext) -> bool:
    e2e = getattr(ctx.campaign, "e2e", None)
    return bool(getattr(getattr(e2e, "options", None), "cookies", True))


def _capture(step: ApiStep, response: httpx.Response, variables: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Set the captured variables; returns (names captured, what could not be captured)."""
    captured, missing = [], []
    document: Any = None
    if step.capture:
        try:
            document = safejson.loads(response.content)
        except ValueError:
            document = None
    for var, path in step.capture.items():
        try:
            if document is None:
                raise jsonpath.PathNotFound(path)
            variables[var] = jsonpath.extract(document, path)
            captured.append(var)
        except (jsonpath.PathNotFound, ValueError):
            variables.pop(var, None)
            missing.append(f"capture {var}: no value at {path}")
    for var, header in step.capture_headers.items():
        if header in response.headers:
            variables[var] = response.headers[header]
            captured.append(var)
        else:
            variables.pop(var, None)
            missing.append(f"capture {var}: no {header} header")
    return captured, missing


async def run_api_journey(ctx: RunContext, http: httpx.AsyncClient, journey: ApiJourney,
                          matcher: EndpointMatcher) -> Session:
    """Run one API journey; every step's timing and outcome is in the returned session."""
    session = Session(journey.name, "api", now())
    variables: dict[str, Any] = dict(ctx.variables())
    http.cookies.clear()  # a journey is a virtual user: its cookie jar starts empty
    stopped: str | None = None
    production = not ctx.environment.allow_writes  # allow_writes: false (the default in production)
    for index, step in enumerate(journey.steps, start=1):
        label = step.name or step.endpoint or (f"{step.method or 'GET'} {step.path}" if step.path else "think")
        record = StepRecord(index=index, name=label, action="think" if step.is_pause else "request",
                            target=step.endpoint or step.path or "", started_at=now(), endpoint=step.endpoint)
        session.steps.append(record)
        if stopped:
            record.outcome, record.reason = "skipped", stopped
            continue
        if step.if_ and not condition_holds(variables, step.if_):
            record.outcome, record.reason = "skipped", f"if {step.if_}: condition not met"
            continue
        if not step.is_pause:
            await _send(ctx, http, step, record, session, variables, matcher, production)
        if step.think:
            await asyncio.sleep(step.think)
            if step.is_pause:
                record.duration_ms = round(step.think * 1000, 3)
        if record.outcome == "failed" and record.gating and not journey.continue_on_failure:
            stopped = f"step {index} ({label}) failed"
    session.finished_at = now()
    ctx.emit(ProgressEvent(ctx.env_name, "e2e", "item",
                           f"api journey {journey.name}: {session.status} ({len(session.steps)} steps, "
                           f"{session.duration_ms:.0f} ms)", {"journey": journey.name, "passed": session.passed}))
    return session


async def _send(ctx: RunContext, http: httpx.AsyncClient, step: ApiStep, record: StepRecord, session: Session,
                variables: dict[str, Any], matcher: EndpointMatcher, production: bool) -> None:
    try:
        request = build_request(ctx, step, variables, matcher)
    except (MissingVariable, UnresolvedSecret, TargetNotAllowed, KeyError) as exc:
        record.outcome, record.failures = "failed", [str(exc).strip('"')]
        return
    record.method, record.url, record.endpoint = request.method, redact_url(request.url), request.endpoint
    record.target = f"{request.method} {request.template or redact_url(request.url.removeprefix(ctx.base_url))}"
    if request.endpoint in ctx.blocked:
        record.gating = False
    safe = request.endpoint is not None and getattr(_endpoint(ctx, request.endpoint), "safe", False)
    if production and request.method in WRITE_METHODS and not safe:
        record.outcome, record.reason = "skipped", (f"writes are not sent to environment {ctx.env_name!r} "
                                                    f"(allow_writes: false)")
        return
    headers = dict(request.headers)
    if request.needs_auth:
        try:
            headers.update(await ensure_auth(ctx, http))
        except AuthFailed as exc:
            record.outcome, record.failures = "failed", [str(exc)]
            return
    call = NetworkCall(seq=len(session.calls) + 1, method=request.method, url=redact_url(request.url), resource_type="api",
                       started_at=now(), step_index=record.index, endpoint=request.endpoint,
                       template=request.template, expected_status=tuple(request.expect.status))
    session.calls.append(call)
    record.started_at = call.started_at
    if not _keeps_cookies(ctx):
        http.cookies.clear()  # the campaign turned cookies off: nothing a response set is sent back
    start = time.perf_counter()
    body = ({"content": request.body} if isinstance(request.body, (str, bytes))
            else {"json": request.body} if request.body is not None else {})
    try:  # a whole-request deadline and a body cap: a trickling or endless target cannot stretch the journey
        response = await bounded_request(http, request.method, request.url, headers=headers, **body,
                                         allow=ctx.check_url, deadline_s=http.timeout.read or DEFAULT_DEADLINE_S)
    except (httpx.HTTPError, TargetNotAllowed) as exc:
        kind = "blocked" if isinstance(exc, TargetNotAllowed) else classify_error(exc)
        call.duration_ms = record.duration_ms = round(elapsed_ms(start), 3)
        call.failure, call.blocked = kind, kind == "blocked"
        record.outcome, record.failures = "failed", [redact_text(f"{kind}: {exc or type(exc).__name__}")]
        return
    latency = elapsed_ms(start)
    content = response.content
    call.status_code = record.status_code = response.status_code
    call.duration_ms = record.duration_ms = round(latency, 3)
    call.content_type = response.headers.get("content-type")
    if len(content) <= MAX_BODY:
        call.body = content
    check = check_response(request.expect, response.status_code, response.headers, content, latency)
    captured, missing = _capture(step, response, variables)  # type: ignore[arg-type]
    record.captured = captured
    failures = [redact_text(f) for f in check.failures]
    reads_body = request.expect.fields or request.expect.values or request.expect.body_contains or step.capture
    if response.truncated and reads_body:
        failures.append(f"body larger than {len(content):,} bytes: the rest was not read, so it was not checked")
    if missing and 200 <= response.status_code < 300:
        failures += missing
    record.failures = failures
    record.outcome = "failed" if failures else "passed"
