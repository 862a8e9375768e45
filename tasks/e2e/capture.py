"""Session capture for a browser journey: what the pages request, log and show.

:class:`SessionCapture` listens to a browser context's events and fills a :class:`Session`:

- every request: method, URL, resource type, status, and its timing from ``request.timing``
  (request start to response end; time to first byte), the step it belongs to, the campaign
  endpoint it matches; requests to hosts outside ``allow_hosts`` are aborted (a route for the
  first request, the egress guard for redirects and everything else, see ``egress``) and marked
  blocked; URLs and console texts are stored redacted (``campaigns.redact``);
  JSON/text bodies of the app's own fetch/XHR calls stay in memory for mock detection;
- console errors and warnings, and uncaught page errors;
- after each step (:meth:`observe`): the Web Vitals of the current document, the error messages
  it shows (``role=alert``, ``.error``, …) and texts that look like placeholder data;
- screenshots at key moments under ``<out_dir>/e2e/<journey>/NN-<label>.png``.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from campaigns.e2e import BrowserJourney, E2EOptions
from campaigns.redact import redact_text, redact_url
from tasks.base import RunContext, now
from tasks.e2e.egress import MARKER, BlockedRequest
from tasks.e2e.friction import EndpointMatcher, placeholder_reason
from tasks.e2e.session import ConsoleEntry, NetworkCall, PageText, PageVitals, Screenshot, Session
from tasks.e2e.vitals import READ_SCRIPT, metrics_of

STEP_QUIET_S = 0.1       # a step has settled when no request was pending for this long …
STEP_SETTLE_MAX_S = 2.0  # … or after this long
MAX_BODY = 512_000

SCAN_SCRIPT = r"""
() => {
  const visible = (el) => {
    if (el.closest("[hidden]")) return false;
    if (el.checkVisibility) return el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
    return el.getClientRects().length > 0;
  };
  const where = (el) => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && parts.length < 4; e = e.parentElement) {
      let s = e.tagName.toLowerCase();
      if (e.id) { parts.unshift(s + "#" + e.id); break; }
      const testid = e.getAttribute("data-testid");
      if (testid) { parts.unshift(s + '[data-testid="' + testid + '"]'); break; }
      if (e.classList.length) s += "." + [...e.classList].slice(0, 2).join(".");
      parts.unshift(s);
    }
    return parts.join(" > ");
  };
  const errors = [];
  const errorSelector = '[role="alert"], [aria-live="assertive"], .error, .error-message, .alert-danger, ' +
    '.alert-error, .toast-error, .invalid-feedback, [data-testid*="error" i]';
  for (const el of document.querySelectorAll(errorSelector)) {
    const text = (el.innerText || "").trim();
    if (text && visible(el) && !errors.some((e) => e.text === text)) {
      errors.push({ text: text.slice(0, 300), where: where(el) });
    }
    if (errors.length >= 20) break;
  }
  const texts = [];
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_ELEMENT);
  for (let el = walker.currentNode; el && texts.length < 400; el = walker.nextNode()) {
    if (["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"].includes(el.tagName)) continue;
    let own = "";
    for (const n of el.childNodes) if (n.nodeType === 3) own += n.textContent;
    own = own.trim();
    if (!own && el.tagName !== "INPUT") continue;
    if (el.tagName === "INPUT" && ["text", "email", ""].includes(el.type) && el.value && el.readOnly) own = el.value;
    if (own && visible(el)) texts.push({ text: (el.innerText || own).trim().slice(0, 300), where: where(el) });
  }
  return { errors, texts };
}
"""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or ''}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "step"


class SessionCapture:
    """Captures one journey's session from its browser context's events."""

    def __init__(self, ctx: RunContext, journey: BrowserJourney, options: E2EOptions, matcher: EndpointMatcher,
                 shots_dir: Path):
        self.ctx, self.journey, self.options, self.matcher = ctx, journey, options, matcher
        self.shots_dir = shots_dir
        self.session = Session(journey.name, "browser", now())
        self.step_index = 0
        self.pending: dict[Any, tuple[NetworkCall, float]] = {}
        self.blocked: set[str] = set()
        #: what the egress guard refused (redacted), in order
        self.egress_blocked: list[BlockedRequest] = []
        self._blocked_origins: set[str] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.readings: dict[str, dict[str, Any]] = {}     # document id → last vitals reading
        self.shown: set[tuple[str, str, str]] = set()
        self.allow = set(ctx.environment.allow_hosts)
        self.last_activity = time.monotonic()

    # -- events -------------------------------------------------------------------------------

    def on_request(self, request: Any) -> None:
        host = urlsplit(request.url).hostname or ""
        from_app = host in self.allow
        match = self.matcher.match(request.method, request.url) if from_app else None
        try:
            page_url = request.frame.url
        except Exception:  # noqa: BLE001 - service-worker requests have no frame
            page_url = None
        call = NetworkCall(seq=len(self.session.calls) + 1, method=request.method, url=redact_url(request.url),
                           resource_type=request.resource_type, started_at=now(), step_index=self.step_index,
                           from_app=from_app, endpoint=match[0] if match else None,
                           template=match[1] if match else None, page_url=redact_url(page_url) if page_url else None)
        self.session.calls.append(call)
        self.pending[request] = (call, time.perf_counter())
        self.last_activity = time.monotonic()

    def on_finished(self, request: Any) -> None:
        self._spawn(self._finish(request))

    async def _finish(self, request: Any) -> None:
        entry = self.pending.get(request)
        if entry is None:
            return
        call, started = entry
        try:
            response = await request.response()
            if response is not None:
                headers = await response.all_headers()
                egress = headers.get(MARKER.lower())
                if egress is not None:  # answered by the egress guard, not by the target
                    call.blocked = egress == "blocked"
                    call.failure = ("net::ERR_BLOCKED_BY_CLIENT (host outside allow_hosts)" if call.blocked
                                    else egress.removeprefix("upstream-failed: "))
                    self._timing(call, request, started)
                    return
                call.status_code = response.status
                call.content_type = headers.get("content-type")
                if call.is_api and call.from_app and call.content_type and \
                        ("json" in call.content_type or "text" in call.content_type):
                    body = await response.body()
                    call.body = body if len(body) <= MAX_BODY else None
            self._timing(call, request, started)
        except Exception:  # noqa: BLE001 - the page went away; keep what we have
            self._timing(call, request, started)
        finally:
            self.pending.pop(request, None)
            self.last_activity = time.monotonic()

    def on_failed(self, request: Any) -> None:
        entry = self.pending.pop(request, None)
        if entry is None:
            return
        call, started = entry
        call.failure = request.failure or "failed"
        call.blocked = request.url in self.blocked or _origin(request.url) in self._blocked_origins
        if call.blocked and "BLOCKED" not in call.failure:
            call.failure = f"net::ERR_BLOCKED_BY_CLIENT (host outside allow_hosts; {call.failure})"
        self._timing(call, request, started)
        self.last_activity = time.monotonic()

    @staticmethod
    def _timing(call: NetworkCall, request: Any, started: float) -> None:
        fallback = round((time.perf_counter() - started) * 1000, 3)
        try:
            timing = request.timing
        except Exception:  # noqa: BLE001
            timing = {}
        end, first = timing.get("responseEnd", -1), timing.get("responseStart", -1)
        call.duration_ms = round(end, 3) if end is not None and end > 0 else fallback
        call.ttfb_ms = round(first, 3) if first is not None and first > 0 else None

    def on_console(self, message: Any) -> None:
        if message.type not in ("error", "warning"):
            return
        try:
            location = message.location or {}
            page_url = message.page.url if message.page else None
        except Exception:  # noqa: BLE001
            location, page_url = {}, None
        self.session.console.append(ConsoleEntry("console", "error" if message.type == "error" else "warning",
                                                 redact_text(message.text), redact_url(location.get("url") or "")
                                                 or None, redact_url(page_url) if page_url else None,
                                                 self.step_index))

    def on_page_error(self, web_error: Any) -> None:
        error = web_error.error
        try:
            page_url = web_error.page.url if web_error.page else None
        except Exception:  # noqa: BLE001
            page_url = None
        text = f"{error.name}: {error.message}" if getattr(error, "name", None) else str(error.message)
        self.session.console.append(ConsoleEntry("pageerror", "error", redact_text(text), None,
                                                 redact_url(page_url) if page_url else None, self.step_index))

    async def on_route(self, route: Any) -> None:
        self.blocked.add(route.request.url)
        await route.abort("blockedbyclient")

    def on_blocked(self, item: BlockedRequest) -> None:
        """The egress guard refused a request (a redirect hop, a CONNECT…): the browser sees a 403
        or a failed tunnel; remember it so that call is marked blocked."""
        self.egress_blocked.append(item)
        if item.method.upper() == "CONNECT":
            self._blocked_origins.add(_origin(item.url))
        self.last_activity = time.monotonic()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- observation ----------------------------------------------------------------------------

    async def settle(self, quiet_s: float = STEP_QUIET_S, max_s: float = STEP_SETTLE_MAX_S) -> None:
        """Until no request was pending for ``quiet_s`` since the call (or ``max_s`` passed): requests an
        action triggers a moment later are still attributed to it."""
        started = time.monotonic()
        deadline = started + max_s
        while time.monotonic() < deadline:
            idle = not self.pending and not self.tasks
            if idle and time.monotonic() - max(self.last_activity, started) >= quiet_s:
                return
            await asyncio.sleep(0.03)

    async def observe(self, page: Any) -> None:
        """Read Web Vitals and scan what the page shows (errors, placeholder data)."""
        for attempt in range(2):
            try:
                reading = await page.evaluate(READ_SCRIPT)
                if reading:
                    first = self.readings.get(reading["doc"])
                    reading["step_index"] = first["step_index"] if first else self.step_index
                    reading["order"] = first["order"] if first else len(self.readings)
                    reading["url"] = first["url"] if first else reading["url"]  # where it loaded (SPAs move)
                    self.readings[reading["doc"]] = reading
                scan = await page.evaluate(SCAN_SCRIPT)
                break
            except Exception:  # noqa: BLE001 - navigating: wait for the new document once
                if attempt:
                    return
                try:
                    await page.wait_for_load_state("domcontentloaded", timeout=5000)
                except Exception:  # noqa: BLE001
                    return
        url = page.url
        for error in scan["errors"]:
            self._shown("error_message", error["text"], error["where"], url)
        for item in scan["texts"]:
            if placeholder_reason(item["text"], self.options.placeholder_texts):
                self._shown("placeholder", item["text"], item["where"], url)

    def _shown(self, kind: str, text: str, where: str, url: str) -> None:
        key = (kind, text, urlsplit(url).path)
        if key in self.shown:
            return
        self.shown.add(key)
        self.session.texts.append(PageText(kind, redact_text(text), where, redact_url(url),  # type: ignore[arg-type]
                                           self.step_index))

    async def screenshot(self, page: Any, label: str) -> str | None:
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        name = f"{self.step_index:02d}-{_slug(label)}"
        path = self.shots_dir / f"{name}.png"
        n = 2
        while path.exists():
            path = self.shots_dir / f"{name}-{n}.png"
            n += 1
        try:
            data = await page.screenshot(path=str(path), full_page=True, timeout=10_000)
        except Exception:  # noqa: BLE001 - a page that cannot be captured is not a failed journey
            return None
        self.session.screenshots.append(Screenshot(len(self.session.screenshots) + 1, label, str(path),
                                                   self.step_index, redact_url(page.url), now(), len(data)))
        for text in self.session.texts:
            if text.step_index == self.step_index and text.screenshot is None:
                text.screenshot = str(path)
        return str(path)

    def vitals(self) -> list[PageVitals]:
        out = []
        for reading in sorted(self.readings.values(), key=lambda r: r["order"]):
            metrics = metrics_of(reading)
            if metrics:
                out.append(PageVitals(len(out) + 1, redact_url(reading["url"]), reading["step_index"], metrics, now()))
        return out
