"""E2E stage: the campaign's API journeys (httpx) and browser journeys (Playwright on Chromium).

Phases: pick the journeys this environment runs → run the API journeys → start one browser and run
the browser journeys, each in a fresh context → detect friction points in every captured session →
turn them into backlog items (``e2e:`` keys) → gates, rows and the run's JSON.

Gates: one per journey (a failed expectation or a UI blocker fails it; a failure on an endpoint
readiness found mocked or missing does not — a known gap), plus one per browser journey for Web
Vitals when the campaign sets ``fail_on_poor_vitals``. Friction points never fail the run on their
own: they are the backlog. When Chromium cannot start, the stage is an infrastructure failure (exit
code 3) and the backlog is left as it was (a gap not looked for is not a gap closed).
"""

from __future__ import annotations

from typing import Any

from campaigns.e2e import E2ESpec
from tasks.base import Gate, ProgressEvent, RunContext, StageResult, now, register
from tasks.e2e.api import run_api_journey
from tasks.e2e.backlog import BACKLOG_SCOPE, backlog_items
from tasks.e2e.browser import BrowserPool, BrowserUnavailable, run_browser_journey
from tasks.e2e.friction import EndpointMatcher, FrictionOptions, FrictionPoint, counts, detect
from tasks.e2e.rows import endpoint_docs, journey_doc, poor_vitals, rows
from tasks.e2e.session import Session
from tasks.http import client


@register
class E2EStage:
    name = "e2e"

    def __init__(self, browser: Any = None):
        #: an already started Playwright browser to use (tests share one per module)
        self.browser = browser

    async def run(self, ctx: RunContext) -> StageResult:
        result = StageResult(stage=self.name, status="passed", started_at=now())
        spec: E2ESpec | None = getattr(ctx.campaign, "e2e", None)
        if spec is None:
            result.status, result.summary = "skipped", {"reason": "the campaign has no e2e section"}
            result.finished_at = now()
            return result
        options = spec.options
        matcher = EndpointMatcher((ep.name, ep.method, ep.path) for ep in ctx.campaign.endpoints)
        skipped: dict[str, str] = {}
        known = {ep.name for ep in ctx.campaign.endpoints}
        for problem in spec.unknown_endpoints(known):  # the campaign model rejects these; kept as a net
            result.gates.append(Gate(self.name, "e2e config", False, detail=problem))

        def chosen(journeys: list[Any], kind: str) -> list[Any]:
            out = []
            for journey in journeys:
                if journey.environments is not None and ctx.env_name not in journey.environments:
                    skipped[journey.name] = f"not run in environment {ctx.env_name!r}"
                elif kind == "api" and any(s.endpoint and s.endpoint not in known for s in journey.steps):
                    skipped[journey.name] = "names an unknown endpoint"
                else:
                    out.append(journey)
            return out

        api_journeys = chosen(spec.api_journeys, "api")
        browser_journeys = chosen(spec.browser_journeys, "browser")
        sessions: list[Session] = []
        if api_journeys:
            async with client(options.request_timeout) as http:
                for journey in api_journeys:
                    sessions.append(await run_api_journey(ctx, http, journey, matcher))
        browser_error = None
        if browser_journeys:
            try:
                sessions += await self._browser_sessions(ctx, spec, matcher, browser_journeys)
            except BrowserUnavailable as exc:
                browser_error = str(exc)
                ctx.emit(ProgressEvent(ctx.env_name, self.name, "warning", browser_error))

        friction_options = FrictionOptions(options.slow_threshold_ms, tuple(options.placeholder_texts),
                                           tuple(options.ignore))
        points: dict[str, list[FrictionPoint]] = {s.journey: detect(s, ctx.verdicts, friction_options)
                                                  for s in sessions}
        all_points = [p for s in sessions for p in points[s.journey]]
        result.backlog = backlog_items(all_points)
        machinery_failed = browser_error is not None or any(s.error for s in sessions)
        result.backlog_scope = None if machinery_failed else BACKLOG_SCOPE

        for session in sessions:
            result.gates.append(Gate(self.name, f"journey {session.journey}", session.passed,
                                     observed=session.status, limit="passed", detail=session.first_failure()))
            if options.fail_on_poor_vitals and session.kind == "browser":
                poor = poor_vitals(session)
                result.gates.append(Gate(self.name, f"web vitals {session.journey}", not poor,
                                         observed=len(poor), limit=0, detail="; ".join(poor[:5])))
        if browser_error:
            result.gates.append(Gate(self.name, "browser", False, detail=browser_error))
            result.infrastructure_failure = True
            result.error = browser_error
        elif sessions and all(s.error for s in sessions):
            result.infrastructure_failure = True
            result.error = sessions[0].error
        elif api_journeys and not browser_journeys and _all_unreachable(sessions):
            result.infrastructure_failure = True
            result.error = "target unreachable: every API journey failed to connect"

        finished = now()
        result.rows = rows(sessions, points, finished)
        result.endpoints = endpoint_docs(sessions, all_points)
        result.summary = {
            "journeys": [journey_doc(s, points[s.journey]) for s in sessions],
            "passed": sum(s.passed for s in sessions),
            "failed": sum(not s.passed for s in sessions),
            "skipped": skipped,
            "friction": counts(all_points),
            "poor_web_vitals": {s.journey: poor_vitals(s) for s in sessions if poor_vitals(s)},
            "screenshots_dir": str(ctx.out_dir / "e2e"),
            "writes": {"allowed": bool(ctx.environment.allow_writes)},
            "backlog": [{"key": i["key"], "priority": i["priority"], "effort": i["effort"], "title": i["title"]}
                        for i in result.backlog],
        }
        result.status = "error" if result.infrastructure_failure else ("passed" if result.gates_passed else "failed")
        result.finished_at = finished
        return result

    async def _browser_sessions(self, ctx: RunContext, spec: E2ESpec, matcher: EndpointMatcher,
                                journeys: list[Any]) -> list[Session]:
        if self.browser is not None:
            return [await run_browser_journey(self.browser, ctx, j, spec.options, matcher) for j in journeys]
        async with BrowserPool(spec.options) as browser:
            return [await run_browser_journey(browser, ctx, j, spec.options, matcher) for j in journeys]


def _all_unreachable(sessions: list[Session]) -> bool:
    calls = [c for s in sessions for c in s.calls]
    return bool(calls) and all(c.failure in ("connect", "timeout") for c in calls)
