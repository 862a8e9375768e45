"""A load plan: everything one shard needs, as plain picklable dataclasses (no pydantic, no I/O).

The stage (or the quick CLI) compiles a campaign's ``load:`` section into a :class:`Plan`; every
shard — a local process or a Dask worker — receives the same plan plus its shard number and
takes its share (every n-th arrival, or its share of the virtual users).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from campaigns.templating import has_template

USER_AGENT = "perfcampaign-load/0.1"


@dataclass(frozen=True)
class Expectation:
    status: tuple[int, ...] = ()          # empty: any 2xx
    fields: tuple[str, ...] = ()
    values: tuple[tuple[str, Any], ...] = ()
    body_contains: str | None = None
    content_type: str | None = None
    max_latency_ms: float | None = None

    @property
    def needs_body(self) -> bool:
        return bool(self.fields or self.values or self.body_contains)


@dataclass(frozen=True)
class StepPlan:
    """One request of a flow. ``name`` is the metric name: the endpoint's, never the URL."""

    name: str
    method: str
    path: str                                   # from the base URL, '{{ }}' templates allowed
    query: tuple[tuple[str, Any], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None
    path_values: tuple[str, ...] = ()           # pre-filled paths when the endpoint has params
    capture: tuple[tuple[str, str], ...] = ()   # (variable, "$.json.path")
    expect: Expectation = field(default_factory=Expectation)
    think: float = 0.0
    condition: str | None = None                # send only when this variable is truthy (Artillery ifTrue)

    @property
    def templated(self) -> bool:
        return has_template([self.path, list(self.path_values), dict(self.query), dict(self.headers), self.body])

    @property
    def needs_body(self) -> bool:
        return bool(self.capture) or self.expect.needs_body


@dataclass(frozen=True)
class ScenarioPlan:
    name: str
    weight: float
    steps: tuple[StepPlan, ...]


@dataclass(frozen=True)
class PhasePlan:
    """One phase: ``executor`` is a registry key (``constant-arrival-rate``, ``ramping-vus``, …)."""

    executor: str
    duration: float
    rate: float = 0.0            # arrival-rate executors: iterations per second at the start
    rate_to: float | None = None
    vus: int = 0                 # VU executors: virtual users at the start
    vus_to: int | None = None
    name: str = ""


@dataclass(frozen=True)
class RulePlan:
    """A threshold (see ``campaigns.load`` for the grammar): ``metric op value`` on an endpoint or all."""

    metric: str                  # p(95) | mean | min | max | error_rate | rps
    op: str
    value: float
    endpoint: str | None = None
    abort_on_fail: bool = False
    grace: float = 0.0
    source: str = ""


@dataclass(frozen=True)
class BreakpointPlan:
    stop_when: tuple[RulePlan, ...]     # the rules that must keep holding; the first break stops
    window: float = 2.0                 # seconds of recent data the rules are evaluated on


@dataclass
class Plan:
    base_url: str
    scenarios: tuple[ScenarioPlan, ...]
    phases: tuple[PhasePlan, ...]
    model: Literal["open", "closed"] = "open"
    max_connections: int = 1000
    timeout: float = 10.0
    connect_timeout: float = 5.0
    think: float = 0.0                  # closed model: pause between a VU's iterations
    variables: dict[str, Any] = field(default_factory=dict)
    feeders: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    feeder_order: dict[str, str] = field(default_factory=dict)
    max_rps: float | None = None        # hard request-rate ceiling (the environment's cap)
    rules: tuple[RulePlan, ...] = ()    # abort-on-fail rules, checked live in the shard
    breakpoint: BreakpointPlan | None = None
    graceful_stop: float = 5.0
    late_after: float = 0.010           # a send this much later than intended is "late"
    verify_tls: bool = True
    ca_file: str | None = None
    seed: int = 0
    test_type: str = "load"
    cookies: bool = True                # a cookie jar per iteration (Artillery's and k6's per-VU jar)

    @property
    def endpoint_names(self) -> list[str]:
        seen: dict[str, None] = {}
        for sc in self.scenarios:
            for st in sc.steps:
                seen.setdefault(st.name, None)
        return list(seen)

    @property
    def duration(self) -> float:
        return sum(p.duration for p in self.phases)

    def target_requests(self) -> float | None:
        """Planned arrivals (iterations) of the open model; None for the closed model."""
        if self.model != "open":
            return None
        return sum((p.rate + (p.rate if p.rate_to is None else p.rate_to)) / 2 * p.duration for p in self.phases)

    def mean_steps(self) -> float:
        total = sum(s.weight for s in self.scenarios) or 1.0
        return sum(s.weight * len(s.steps) for s in self.scenarios) / total


def encode_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, separators=(",", ":")).encode()


def _check(text: str, what: str) -> str:
    if "\r" in text or "\n" in text:
        raise ValueError(f"{what} may not contain a line break: {text!r}")
    return text


def build_request(method: str, target: str, host: str, headers: tuple[tuple[str, str], ...] | list,
                  body: Any = None) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive, ``Content-Length`` framing)."""
    payload = encode_body(body)
    names = {k.lower() for k, _ in headers}
    lines = [f"{method} {_check(target, 'the request target')} HTTP/1.1", f"Host: {host}"]
    if "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    for key, value in headers:
        lines.append(f"{_check(key, 'a header name')}: {_check(str(value), 'a header value')}")
    if body is not None and "content-type" not in names and not isinstance(body, bytes | str):
        lines.append("Content-Type: application/json")
    if payload or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def request_target(base_path: str, path: str, query: dict[str, Any] | tuple) -> str:
    target = base_path + path
    q = dict(query)
    if q:
        target += ("&" if "?" in target else "?") + urlencode(q, doseq=True)
    return target


def share(total: int, shard: int, n_shards: int) -> int:
    """Shard ``shard``'s part of ``total`` units split as evenly as possible."""
    return total // n_shards + (1 if shard < total % n_shards else 0)


def lcm_len(lengths: list[int], cap: int = 1024) -> int:
    out = 1
    for n in lengths:
        out = out * n // math.gcd(out, n)
        if out > cap:
            return cap
    return out
