"""httpx helpers shared by the single-pass stages (readiness, smoke, e2e): one client factory,
the campaign's auth flow, and expectation checks. The load stage has its own engine."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from campaigns import jsonpath
from campaigns.model import Expect
from campaigns.templating import MissingVariable, render
from campaigns.types import UnresolvedSecret, resolve_refs
from tasks import safejson
from tasks.base import RunContext

USER_AGENT = "perfcampaign/0.1"


def client(timeout_s: float = 10.0, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout_s, headers={"User-Agent": USER_AGENT}, follow_redirects=False,
                             trust_env=False, **kwargs)


def classify_error(exc: BaseException) -> str:
    """A stable kind for a transport failure: connect, timeout, reset, protocol, other."""
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return "reset"
    if isinstance(exc, httpx.ProtocolError):
        return "protocol"
    return "other"


class AuthFailed(RuntimeError):
    pass


async def ensure_auth(ctx: RunContext, http: httpx.AsyncClient) -> dict[str, str]:
    """Run the campaign's auth flow once per run context; the header goes to ``auth: true`` endpoints."""
    if ctx.auth_headers is not None:
        return ctx.auth_headers
    flow = ctx.campaign.auth
    if flow is None:
        ctx.auth_headers = {}
        return ctx.auth_headers
    variables = ctx.variables()
    try:
        url = ctx.check_url(ctx.base_url + render(flow.request.path, variables))
        headers = render(resolve_refs({**ctx.environment.headers, **flow.request.headers}), variables)
        body = render(resolve_refs(flow.request.body), variables)
    except (MissingVariable, UnresolvedSecret, PermissionError) as exc:  # a config mistake: the sign-in fails
        raise AuthFailed(f"auth flow {flow.request.method} {flow.request.path}: cannot build the request: "
                         f"{str(exc).strip(chr(34))}") from exc
    try:
        response = await http.request(flow.request.method, url, headers=headers, json=body)
    except httpx.HTTPError as exc:
        raise AuthFailed(f"auth flow {flow.request.method} {url}: {classify_error(exc)} ({exc})") from exc
    if response.status_code >= 400:
        raise AuthFailed(f"auth flow {flow.request.method} {url} answered {response.status_code}")
    try:
        token = jsonpath.extract(safejson.loads(response.content), flow.capture)
    except (ValueError, jsonpath.PathNotFound) as exc:
        raise AuthFailed(f"auth flow: no {flow.capture} in the response of {url}") from exc
    ctx.auth_headers = {flow.header: flow.format.format(token=token)}
    return ctx.auth_headers


@dataclass
class Check:
    passed: bool
    failures: list[str] = field(default_factory=list)


def check_response(expect: Expect, status: int, headers: httpx.Headers, body: bytes, latency_ms: float,
                   default_budget_ms: float | None = None) -> Check:
    """Every failed expectation, in words a person can act on."""
    failures: list[str] = []
    if expect.status:
        if status not in expect.status:
            failures.append(f"status {status}, expected {expect.status}")
    elif not 200 <= status < 300:
        failures.append(f"status {status}, expected 2xx")
    budget = expect.max_latency_ms or default_budget_ms
    if budget is not None and latency_ms > budget:
        failures.append(f"latency {latency_ms:.1f} ms over budget {budget:g} ms")
    if expect.content_type and expect.content_type not in headers.get("content-type", ""):
        failures.append(f"content-type {headers.get('content-type')!r}, expected {expect.content_type!r}")
    if expect.body_contains is not None and expect.body_contains.encode() not in body:
        failures.append(f"body does not contain {expect.body_contains!r}")
    if expect.fields or expect.values:
        try:
            document = safejson.loads(body)
        except ValueError:
            failures.append("body is not JSON, but fields were expected")
        else:
            for path in expect.fields:
                if not jsonpath.exists(document, path):
                    failures.append(f"JSON field {path} missing")
            for path, wanted in expect.values.items():
                try:
                    got = jsonpath.extract(document, path)
                except (jsonpath.PathNotFound, ValueError):
                    failures.append(f"JSON field {path} missing (expected {wanted!r})")
                    continue
                if got != wanted:
                    failures.append(f"JSON field {path} is {got!r}, expected {wanted!r}")
    return Check(not failures, failures)


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
