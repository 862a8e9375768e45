"""Browser journeys with Playwright (async API) on a system Chromium.

One browser per stage run (:class:`BrowserPool`), a fresh context per journey (no cookies or storage
shared between journeys). A journey opens its ``start`` path, then runs its steps (``actions``) in
order while :class:`~tasks.e2e.capture.SessionCapture` records every action, request, console error,
Web Vital and screenshot. After a failed step the rest are skipped and a screenshot is taken.

Chromium comes from ``options.browser_path``, ``$PERFCAMPAIGN_CHROMIUM`` or ``chromium`` on the
PATH (Playwright's own browser download is never needed). Every request of a journey goes through
the journey's egress guard (``egress``, a loopback proxy), which refuses hosts outside the
environment's ``allow_hosts`` — redirect hops included, which route interception never sees — so
neither the request nor the environment's headers reach them (unless ``block_outside_hosts`` is
off); the first request to such a host is also aborted by a route, and every one is reported.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from typing import Any

from campaigns.e2e import BrowserJourney, BrowserStep, E2EOptions
from campaigns.redact import redact_text, redact_url
from campaigns.templating import MissingVariable, render
from tasks.base import ProgressEvent, RunContext, now
from tasks.e2e.actions import ACTIONABLE, StepRunner, first_line, selector_of, typed_value
from tasks.e2e.capture import SessionCapture
from tasks.e2e.egress import EgressGuard
from tasks.e2e.friction import PENDING, EndpointMatcher
from tasks.e2e.session import Session, StepRecord
from tasks.e2e.vitals import INIT_SCRIPT

#: Measured (Chromium 156, Playwright 1.65, one context on a small page, PSS of the tree): Playwright's node
#: driver ~120 MB, Chromium ~330-380 MB (its binary's relocated pages are private to each process). Leaner
#: flags move little: --renderer-process-limit=1 / no site-per-process / NetworkServiceInProcess /
#: --in-process-gpu: within ±25 MB PSS (noise), -70..170 MB RSS; --no-zygote +35 MB PSS; NODE_OPTIONS
#: heap flags -10 MB; --single-process -40 MB PSS (-470 MB RSS) but changes what the capture sees
#: (tests/e2e/test_browser.py fails). What a target sends is bounded by the egress guard's caps instead
#: (tasks/e2e/egress.py).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class BrowserUnavailable(RuntimeError):
    """Chromium could not be started (the machinery, not the target)."""


def chromium_path(option: str | None = None) -> str | None:
    """The Chromium to drive: the option, ``$PERFCAMPAIGN_CHROMIUM``, or one on the PATH."""
    for candidate in (option, os.environ.get("PERFCAMPAIGN_CHROMIUM")):
        if candidate:
            return candidate
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserPool:
    """``async with BrowserPool(options) as browser``: one Chromium for a whole stage run."""

    def __init__(self, options: E2EOptions):
        self.options = options
        self._playwright: Any = None
        self.browser: Any = None

    async def __aenter__(self) -> Any:
        try:
            from playwright.async_api import async_playwright
        except ImportError as exc:  # pragma: no cover - playwright is a dependency
            raise BrowserUnavailable(f"playwright is not installed: {exc}") from exc
        path = chromium_path(self.options.browser_path)
        self._playwright = await async_playwright().start()
        try:
            self.browser = await self._playwright.chromium.launch(
                executable_path=path, headless=self.options.headless, args=CHROMIUM_ARGS)
        except Exception as exc:
            await self._playwright.stop()
            raise BrowserUnavailable(f"cannot start Chromium ({path or 'playwright default'}): "
                                     f"{str(exc).splitlines()[0]}") from exc
        return self.browser

    async def __aexit__(self, *exc: Any) -> None:
        try:
            if self.browser is not None:
                await self.browser.close()
        finally:
            if self._playwright is not None:
                await self._playwright.stop()


def outside_hosts_pattern(allow_hosts: list[str]) -> re.Pattern[str]:
    """Matches http(s) URLs whose host is not on the allow-list."""
    hosts = "|".join(re.escape(h) for h in allow_hosts) or "(?!)"
    return re.compile(rf"^https?://(?!(?:{hosts})(?::\d+)?(?:[/?#]|$))", re.IGNORECASE)


async def run_browser_journey(browser: Any, ctx: RunContext, journey: BrowserJourney, options: E2EOptions,
                              matcher: EndpointMatcher) -> Session:
    """Run one browser journey in a fresh context; the session holds everything it captured."""
    capture = SessionCapture(ctx, journey, options, matcher, ctx.out_dir / "e2e" / journey.name)
    session = capture.session
    context = None
    guard = EgressGuard(list(ctx.environment.allow_hosts), enforce=options.block_outside_hosts,
                        on_blocked=capture.on_blocked, max_response_bytes=int(options.max_response_bytes),
                        max_document_bytes=int(options.max_document_bytes), deadline_s=options.navigation_timeout)
    try:
        await guard.start()
        context = await _new_context(browser, ctx, journey, options, capture, guard)
        page = await context.new_page()
        runner = StepRunner(ctx, options, capture)
        variables = dict(ctx.variables())
        steps = [(0, BrowserStep(goto=journey.start, name="start")), *enumerate(journey.steps, start=1)]
        stopped: str | None = None
        for index, step in steps:
            capture.step_index = index
            action = "start" if index == 0 else step.action
            target = redact_text(selector_of(step))  # a goto's URL may carry ?token=…
            record = StepRecord(index=index, name=redact_text(step.name or f"{action} {target}".strip()),
                                action=action, target=target, started_at=now(), value=typed_value(step))
            session.steps.append(record)
            if stopped:
                record.outcome, record.reason = "skipped", stopped
                continue
            await _run_step(page, capture, runner, step, record, variables)
            if record.outcome == "failed":
                stopped = f"step {index} ({record.name}) failed"
            ctx.emit(ProgressEvent(ctx.env_name, "e2e", "item",
                                   f"{journey.name} #{index} {record.name}: {record.outcome}",
                                   {"journey": journey.name, "passed": record.outcome != "failed"}))
        capture.step_index = len(journey.steps)
        if not stopped:  # a failed step was observed (and shot) already: do not wait on a broken page again
            await capture.settle(quiet_s=0.3, max_s=options.slow_threshold_ms / 1000 + 0.5)
            await capture.observe(page)
        last_was_shot = bool(journey.steps) and journey.steps[-1].action == "screenshot"
        if not stopped and not last_was_shot and options.screenshots in ("key", "every_step"):
            await capture.screenshot(page, "end")
    except Exception as exc:  # noqa: BLE001 - the browser itself failed: the machinery, not the target
        session.error = f"browser: {redact_text(first_line(exc))}"
    finally:
        await _close(capture, context)
        await guard.stop()
        session.egress = guard.summary()
    if guard.truncated or guard.timed_out:
        ctx.emit(ProgressEvent(ctx.env_name, "e2e", "warning",
                               f"browser journey {journey.name}: {len(guard.truncated)} response(s) cut at their size "
                               f"cap (page {_mib(guard.max_document_bytes)}, other {_mib(guard.max_response_bytes)}), "
                               f"{len(guard.timed_out)} at the {options.navigation_timeout:g} s deadline: "
                               + ", ".join((guard.truncated + guard.timed_out)[:3]),
                               {"journey": journey.name, "truncated": guard.truncated[:20],
                                "timed_out": guard.timed_out[:20]}))
    if guard.blocked:
        ctx.emit(ProgressEvent(ctx.env_name, "e2e", "warning",
                               f"browser journey {journey.name}: {len(guard.blocked)} request(s) to hosts outside "
                               f"allow_hosts blocked: " + ", ".join(sorted({b.host for b in guard.blocked})),
                               {"journey": journey.name, "blocked": [b.to_dict() for b in guard.blocked[:20]]}))
    ctx.emit(ProgressEvent(ctx.env_name, "e2e", "item",
                           f"browser journey {journey.name}: {session.status} ({len(session.steps)} steps, "
                           f"{len(session.calls)} requests, {len(session.screenshots)} screenshots)",
                           {"journey": journey.name, "passed": session.passed}))
    return session


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB"


async def _new_context(browser: Any, ctx: RunContext, journey: BrowserJourney, options: E2EOptions,
                       capture: SessionCapture, guard: EgressGuard) -> Any:
    viewport = journey.viewport or options.viewport
    context = await browser.new_context(
        viewport={"width": viewport.width, "height": viewport.height}, base_url=ctx.base_url,
        ignore_https_errors=options.ignore_https_errors, proxy={"server": guard.server},
        # the environment's headers only when no other host can receive them
        extra_http_headers=_env_headers(ctx) if options.block_outside_hosts else None)
    context.set_default_timeout(options.action_timeout * 1000)
    context.set_default_navigation_timeout(options.navigation_timeout * 1000)
    await context.add_init_script(INIT_SCRIPT)
    if options.block_outside_hosts:
        await context.route(outside_hosts_pattern(ctx.environment.allow_hosts), capture.on_route)
    context.on("request", capture.on_request)
    context.on("requestfinished", capture.on_finished)
    context.on("requestfailed", capture.on_failed)
    context.on("console", capture.on_console)
    context.on("weberror", capture.on_page_error)
    return context


async def _run_step(page: Any, capture: SessionCapture, runner: StepRunner, step: BrowserStep, record: StepRecord,
                    variables: dict[str, Any]) -> None:
    """Act, let the page settle, observe it, and take the screenshots the options ask for."""
    options = capture.options
    if record.action in ("goto", "click", "press"):
        await capture.observe(page)  # the document may change: keep its last readings
    began = time.perf_counter()
    try:
        await runner.act(page, step, variables, record)
    except MissingVariable as exc:
        record.outcome, record.failures = "failed", [str(exc).strip('"')]
    except Exception as exc:  # noqa: BLE001 - Playwright errors, assertion failures, navigation
        record.outcome, record.failures = "failed", [redact_text(first_line(exc))]
        if record.action in ("start", "goto"):
            record.blocker = {"reason": f"navigation failed: {redact_text(first_line(exc))}"}
        elif record.action in ACTIONABLE and "Timeout" in type(exc).__name__:
            record.blocker = await runner.diagnose(page, render(selector_of(step), variables))
    record.duration_ms = round((time.perf_counter() - began) * 1000, 3)
    record.url = redact_url(page.url)
    if record.blocker is not None and record.action in ("start", "goto"):
        # the page never loaded (a silent, trickling or endless target): there is nothing to settle or
        # read, only what the browser shows — one short screenshot, not another timeout's worth of waiting
        record.screenshot = await capture.screenshot(page, "failed", timeout_s=min(capture.observe_s, 0.5))
        return
    await capture.settle()
    await capture.observe(page)
    if record.outcome == "failed":
        record.screenshot = await capture.screenshot(page, "failed")
    elif (record.action == "start" and options.screenshots == "key") or \
            (options.screenshots == "every_step" and record.action != "screenshot"):
        record.screenshot = await capture.screenshot(page, record.action)


async def _close(capture: SessionCapture, context: Any) -> None:
    session = capture.session
    session.vitals = capture.vitals()
    if capture.tasks:
        await asyncio.wait(list(capture.tasks), timeout=2)
    for call, started in list(capture.pending.values()):
        call.failure = call.failure or PENDING
        call.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    if context is not None:
        try:
            await context.close()
        except Exception:  # noqa: BLE001 - already gone with its browser
            pass
    session.finished_at = now()


def _env_headers(ctx: RunContext) -> dict[str, str]:
    from campaigns.types import resolve_refs

    return {k: str(v) for k, v in render(resolve_refs(dict(ctx.environment.headers)), ctx.variables()).items()}
