"""Friction points: what got in a user's way, detected from a captured :class:`Session`. Pure.

Seed 000's kinds, plus two the pages make obvious:

===============  ========  =====================================================================
type             severity  from
===============  ========  =====================================================================
missing_api      high      an app call (fetch/XHR, or an API-journey step) answered 404/405/501
                           and the journey did not say that status was fine
server_error     high      an app call answered 5xx (not 501), or failed at the transport level
slow_api         medium    an app call or page load slower than ``slow_threshold_ms`` (2 s)
mock_data        medium    an endpoint readiness judged "mock" answered a call; a JSON response
                           with spec-sampler or Lorem ipsum values; such text shown in the page
ui_blocker       high      an element never became actionable; a navigation failed
error_message    medium    an error shown to the user (role=alert, .error, …)
console_error    low       console.error (medium: an uncaught exception in the page)
===============  ========  =====================================================================

Each point has a stable ``key`` (the backlog item it feeds, without the ``e2e:`` prefix): volatile
parts (hosts, ports, numbers, ids) are taken out so the same gap seen tomorrow has the same key.
An error message or console error that merely reports a failed call in the same step names that
call's point in ``evidence["caused_by"]``: the backlog shows it as a symptom, not a second gap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from tasks import safejson
from tasks.readiness.content import lorem_score, placeholder_profile

FrictionType = Literal["missing_api", "server_error", "slow_api", "mock_data", "ui_blocker", "error_message",
                       "console_error"]
Severity = Literal["high", "medium", "low"]

MISSING_STATUSES = frozenset({404, 405, 501})
#: DOM texts that betray placeholder data on their own (whole element text, case-insensitive): the
#: example values of API-description samplers (see tasks/readiness/content.py for their sources)
PLACEHOLDER_EXACT = frozenset({"string", "user@example.com", "pa$$word", "2019-08-24t14:15:22z",
                               "2019-08-24t14:15:22.123z", "3fa85f64-5717-4562-b3fc-2c963f66afa6"})
PENDING = "no response before the journey ended"
PLACEHOLDER_SUBSTRINGS = ("lorem ipsum", "dolor sit amet", "user@example.com", "3fa85f64-5717-4562-b3fc-2c963f66afa6")
_ORIGIN = re.compile(r"https?://[^/\s\"')]+")
_DIGITS = re.compile(r"\d+")
_ID_SEGMENT = re.compile(r"^(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[0-9a-fA-F]{16,}|[A-Z]+-\d+)$")
_TEMPLATE = re.compile(r"\{\{[^}]*\}\}|\{[A-Za-z_][A-Za-z0-9_]*\}")
_SENTENCE = re.compile(r"\s+")


@dataclass
class FrictionPoint:
    journey: str
    type: FrictionType
    severity: Severity
    title: str
    key: str
    evidence: dict[str, Any] = field(default_factory=dict)
    screenshot: str | None = None
    page_url: str | None = None
    endpoint: str | None = None      # campaign endpoint name, when one matches
    target: str | None = None        # 'GET /path' or a selector
    step_index: int | None = None
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "journey": self.journey, "type": self.type, "severity": self.severity,
                "title": self.title, "key": self.key, "target": self.target, "endpoint": self.endpoint,
                "page_url": self.page_url, "step_index": self.step_index, "screenshot": self.screenshot,
                "evidence": self.evidence}


# ---------------------------------------------------------------------------------------------
# Routes and endpoints
# ---------------------------------------------------------------------------------------------


class EndpointMatcher:
    """Map a request (method, URL) to the campaign endpoint whose path template it fits."""

    def __init__(self, endpoints: Iterable[tuple[str, str, str]]):
        self._routes: list[tuple[int, str, str, re.Pattern[str], str]] = []
        for name, method, path in endpoints:
            bare = path.split("?", 1)[0]
            parts = _TEMPLATE.split(bare)
            pattern = "[^/]+".join(re.escape(p) for p in parts)
            literal = len(parts) == 1
            self._routes.append((0 if literal else 1, method.upper(), name, re.compile(f"^{pattern}/?$"), bare))
        self._routes.sort(key=lambda r: r[0])

    def match(self, method: str, url: str) -> tuple[str, str] | None:
        """``(endpoint name, path template)`` or None."""
        path = urlsplit(url).path or "/"
        for _, m, name, regex, template in self._routes:
            if m == method.upper() and regex.match(path):
                return name, template
        return None


def route(method: str, url: str, template: str | None = None) -> str:
    """A stable 'METHOD /path' for keys: the endpoint's template, else ids in the path made '{id}'."""
    if template:
        return f"{method.upper()} {template}"
    path = urlsplit(url).path or "/"
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    return f"{method.upper()} {'/'.join(segments)}"


def page_path(url: str | None) -> str:
    if not url:
        return "?"
    parts = urlsplit(url)
    return parts.path or "/"


def stable_text(text: str, size: int = 80) -> str:
    """Text for a key: no origins, numbers as 'N', whitespace collapsed, cut to ``size``."""
    text = _ORIGIN.sub("", text)
    text = _DIGITS.sub("N", text)
    return _SENTENCE.sub(" ", text).strip()[:size]


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


# ---------------------------------------------------------------------------------------------
# Placeholder data
# ---------------------------------------------------------------------------------------------


def placeholder_reason(text: str, extra: Iterable[str] = ()) -> str | None:
    """Why ``text`` (what an element shows) looks like mock data, or None."""
    s = _SENTENCE.sub(" ", text).strip()
    low = s.lower()
    if not s:
        return None
    if low in PLACEHOLDER_EXACT:
        return f"{s!r} is an example value of an API description (Swagger/Prism sampler)"
    for marker in (*PLACEHOLDER_SUBSTRINGS, *(e.lower() for e in extra if e)):
        if marker in low:
            return f"contains {marker!r}"
    if len(s.split()) >= 3 and lorem_score(s) >= 1.0:
        return "Lorem ipsum text"
    return None


def body_placeholders(body: bytes | None, content_type: str | None) -> list[str]:
    """Strong placeholder values in a JSON response body (sampler values, Lorem ipsum)."""
    if not body or "json" not in (content_type or "") or len(body) > 512_000:
        return []
    try:
        document = safejson.loads(body)
    except ValueError:
        return []
    profile = placeholder_profile(document)
    return [r for r in profile["reasons"] if "sampler" in r or "lorem ipsum" in r or "Prism" in r]


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------


@dataclass
class FrictionOptions:
    slow_threshold_ms: float = 2000.0
    placeholder_texts: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


def detect(session: Any, verdicts: dict[str, str] | None = None,
           options: FrictionOptions | None = None) -> list[FrictionPoint]:
    """Every friction point of one journey's session, each key once (repeats counted in evidence)."""
    found = _Detector(session, verdicts or {}, options or FrictionOptions())
    found.calls()
    found.navigations()
    found.blocked_steps()
    found.shown_texts()
    found.console()
    kept = [p for p in found.points.values() if not any(s and s in p.key for s in found.options.ignore)]
    for seq, point in enumerate(kept, start=1):
        point.seq = seq
    return kept


class _Detector:
    def __init__(self, session: Any, verdicts: dict[str, str], options: FrictionOptions):
        self.session, self.verdicts, self.options = session, verdicts, options
        self.journey: str = session.journey
        self.points: dict[str, FrictionPoint] = {}
        #: (step, page path, url, key) of the calls that failed: what error messages may be reporting
        self.failed_calls: list[tuple[int, str, str, str]] = []

    def add(self, point: FrictionPoint) -> FrictionPoint:
        known = self.points.get(point.key)
        if known is not None:
            known.evidence["occurrences"] = known.evidence.get("occurrences", 1) + 1
            return known
        if point.screenshot is None:
            point.screenshot = self.session.screenshot_for(point.step_index)
        self.points[point.key] = point
        return point

    def calls(self) -> None:
        """Missing APIs, server errors, slow responses and mock data, from the app's own calls."""
        threshold = self.options.slow_threshold_ms
        for call in self.session.calls:
            if call.blocked or not call.from_app:
                continue
            target = route(call.method, call.url, call.template)
            base = {"method": call.method, "url": call.url, "status": call.status_code,
                    "duration_ms": call.duration_ms, "step_index": call.step_index,
                    "resource_type": call.resource_type}
            common = dict(journey=self.journey, target=target, endpoint=call.endpoint, step_index=call.step_index,
                          page_url=call.page_url)
            status = call.status_code or 0
            expected = status in call.expected_status
            failed = None
            if call.is_api and status in MISSING_STATUSES and not expected:
                failed = FrictionPoint(type="missing_api", severity="high", key=f"missing_api:{target}",
                                       title=f"{target} does not exist (HTTP {status}) but the app calls it",
                                       evidence=dict(base), **common)
            elif call.is_api and status >= 500 and not expected:
                failed = FrictionPoint(type="server_error", severity="high", key=f"server_error:{target}",
                                       title=f"{target} fails with HTTP {status}", evidence=dict(base), **common)
            elif call.is_api and call.failure and "ERR_ABORTED" not in call.failure and call.failure != PENDING:
                failed = FrictionPoint(type="server_error", severity="high", key=f"server_error:{target}",
                                       title=f"{target} did not answer ({call.failure})",
                                       evidence={**base, "failure": call.failure}, **common)
            if failed is not None:
                point = self.add(failed)
                self.failed_calls.append((call.step_index or 0, page_path(call.page_url), call.url, point.key))
            if (call.is_api or call.resource_type == "document") and (call.duration_ms or 0) > threshold:
                self.add(FrictionPoint(type="slow_api", severity="medium", key=f"slow_api:{target}",
                                       title=f"{target} took {_seconds(call.duration_ms)} "
                                             f"(threshold {_seconds(threshold)})",
                                       evidence={**base, "threshold_ms": threshold}, **common))
            if not call.is_api or not 200 <= status < 400:
                continue
            if call.endpoint and self.verdicts.get(call.endpoint) == "mock":
                self.add(FrictionPoint(type="mock_data", severity="medium", key=f"mock_data:{target}",
                                       title=f"{target} serves mock data (readiness verdict: mock) to the journey",
                                       evidence={**base, "readiness": "mock"}, **common))
            elif reasons := body_placeholders(call.body, call.content_type):
                self.add(FrictionPoint(type="mock_data", severity="medium", key=f"mock_data:{target}",
                                       title=f"{target} answers with placeholder data",
                                       evidence={**base, "placeholders": reasons}, **common))

    def navigations(self) -> None:
        """A page of the app answering 4xx/5xx to a navigation the journey did not start with goto."""
        goto_failed = {s.index for s in self.session.steps if s.blocker is not None}
        for call in self.session.calls:
            if call.resource_type != "document" or not call.from_app or (call.status_code or 0) < 400 \
                    or call.step_index in goto_failed:
                continue
            path = page_path(call.url)
            self.add(FrictionPoint(journey=self.journey, type="ui_blocker", severity="high",
                                   key=f"ui_blocker:{self.journey}:navigate {stable_text(path, 120)}",
                                   title=f"Navigating to {path} in journey {self.journey} answered "
                                         f"HTTP {call.status_code}",
                                   evidence={"url": call.url, "status": call.status_code,
                                             "step_index": call.step_index},
                                   page_url=call.url, target=f"GET {path}", step_index=call.step_index))

    def blocked_steps(self) -> None:
        """Elements that never became actionable; navigations (goto) that failed."""
        for step in self.session.steps:
            if step.outcome != "failed" or step.blocker is None:
                continue
            what = f"{step.action} {step.target}"
            self.add(FrictionPoint(journey=self.journey, type="ui_blocker", severity="high",
                                   key=f"ui_blocker:{self.journey}:{stable_text(what, 120)}",
                                   title=f"'{what}' is blocked in journey {self.journey}: "
                                         f"{step.blocker.get('reason', '')}",
                                   evidence={"step": step.index, "action": step.action, "selector": step.target,
                                             **step.blocker, "failures": step.failures},
                                   screenshot=step.screenshot, page_url=step.url, target=step.target,
                                   step_index=step.index))

    def shown_texts(self) -> None:
        """Error messages shown to the user; placeholder data reaching the page (and from which call)."""
        bodies = [(c, c.body.decode("utf-8", "replace").lower()) for c in self.session.calls
                  if c.body and c.is_api and c.from_app]
        for shown in self.session.texts:
            path = page_path(shown.page_url)
            common = dict(journey=self.journey, screenshot=shown.screenshot, page_url=shown.page_url,
                          step_index=shown.step_index)
            if shown.kind == "error_message":
                evidence: dict[str, Any] = {"text": shown.text, "element": shown.where,
                                            "step_index": shown.step_index}
                cause = _cause(self.failed_calls, shown.step_index, path)
                if cause:
                    evidence["caused_by"] = cause
                self.add(FrictionPoint(type="error_message", severity="medium",
                                       key=f"error_message:{path}:{stable_text(shown.text)}",
                                       title=f"The page {path} shows the error {shown.text[:120]!r}",
                                       evidence=evidence, target=shown.where, **common))
                continue
            source = next((c for c, body in bodies if shown.text.lower()[:60] in body), None)
            evidence = {"text": shown.text[:200], "element": shown.where, "step_index": shown.step_index,
                        "reason": placeholder_reason(shown.text, self.options.placeholder_texts)}
            if source is not None:
                target = route(source.method, source.url, source.template)
                evidence["from"] = {"method": source.method, "url": source.url, "endpoint": source.endpoint}
                point = self.add(FrictionPoint(type="mock_data", severity="medium", key=f"mock_data:{target}",
                                               title=f"Placeholder data from {target} reaches the page {path}",
                                               evidence=evidence, target=target, endpoint=source.endpoint,
                                               **common))
            else:
                point = self.add(FrictionPoint(type="mock_data", severity="medium", key=f"mock_data:page {path}",
                                               title=f"The page {path} shows placeholder data", evidence=evidence,
                                               target=shown.where, **common))
            pages = point.evidence.setdefault("shown_in_ui", [])
            if path not in pages:
                pages.append(path)

    def console(self) -> None:
        """console.error and uncaught exceptions (not the lines that only repeat a failed request)."""
        calls = self.session.calls
        reported = {c.url for c in calls if c.blocked or c.is_api or c.resource_type == "document"}
        for entry in self.session.console:
            if entry.level != "error":
                continue
            if entry.kind == "console" and entry.text.startswith("Failed to load resource") and entry.url in reported:
                continue  # the call itself is the friction point (or we blocked it)
            path = page_path(entry.page_url)
            evidence = {"text": entry.text[:500], "source": entry.url, "kind": entry.kind,
                        "step_index": entry.step_index}
            cause = next((k for _, _, url, k in self.failed_calls if url == entry.url), None)
            if cause:
                evidence["caused_by"] = cause
            uncaught = entry.kind == "pageerror"
            self.add(FrictionPoint(journey=self.journey, type="console_error", severity="medium" if uncaught else "low",
                                   key=f"console_error:{path}:{stable_text(entry.text)}",
                                   title=(f"Uncaught exception on {path}: " if uncaught else
                                          f"Console error on {path}: ") + entry.text[:120],
                                   evidence=evidence, page_url=entry.page_url, step_index=entry.step_index))


def _cause(failed_calls: list[tuple[int, str, str, str]], step: int | None, path: str) -> str | None:
    """The failed call an error message most likely reports: the latest one the same page made up to
    the step where the message was first seen."""
    candidates = [(s, k) for s, p, _, k in failed_calls if p == path and (step is None or s <= step)]
    return max(candidates, key=lambda c: c[0])[1] if candidates else None


SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


def counts(points: Iterable[FrictionPoint]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in points:
        out[p.type] = out.get(p.type, 0) + 1
    return dict(sorted(out.items()))
