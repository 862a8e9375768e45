"""Browser journey steps: one Playwright action each, and why an element was not actionable.

Selectors are Playwright's (CSS, ``text=…``, ``role=button[name="Buy"]``); an action works on the
first element that matches. Every string of a step is a template (``{{ users.password }}``).
When a click, fill, press or select times out, :meth:`StepRunner.diagnose` examines the element
(is it there? visible? enabled?) so the UI blocker says why.
"""

from __future__ import annotations

from typing import Any

from campaigns.e2e import BrowserStep, E2EOptions
from campaigns.redact import redact_url
from campaigns.templating import render
from campaigns.types import is_secret_key
from tasks.base import RunContext
from tasks.e2e.capture import SessionCapture
from tasks.e2e.egress import MARKER
from tasks.e2e.session import StepRecord

ACTIONABLE = ("click", "fill", "press", "select")


class StepRunner:
    def __init__(self, ctx: RunContext, options: E2EOptions, capture: SessionCapture):
        self.ctx, self.options, self.capture = ctx, options, capture

    def url_for(self, target: str) -> str:
        if target.startswith(("http://", "https://")):
            return self.ctx.check_url(target)
        return self.ctx.check_url(self.ctx.base_url + ("" if target.startswith("/") else "/") + target)

    async def act(self, page: Any, step: BrowserStep, variables: dict[str, Any], record: StepRecord) -> None:
        """Run one action; raises on failure (PlaywrightError, AssertionError, ValueError)."""
        from playwright.async_api import expect

        timeout = (step.timeout or self.options.action_timeout) * 1000
        r = lambda value: render(value, variables)  # noqa: E731
        action = step.action
        if action == "goto":
            await self.navigate(page, r(step.goto), record)
        elif action == "click":
            await page.locator(r(step.click)).first.click(timeout=timeout)
        elif action == "fill":
            await page.locator(r(step.fill.selector)).first.fill(str(r(step.fill.value)), timeout=timeout)
        elif action == "press":
            if step.press.selector:
                await page.locator(r(step.press.selector)).first.press(step.press.key, timeout=timeout)
            else:
                await page.keyboard.press(step.press.key)
        elif action == "select":
            value = r(step.select.value)
            await page.locator(r(step.select.selector)).first.select_option(value, timeout=timeout)
        elif action == "expect_text":
            await expect(page.locator(r(step.expect_text.selector)).first).to_contain_text(
                str(r(step.expect_text.text)), ignore_case=step.expect_text.ignore_case, timeout=timeout)
        elif action == "expect_visible":
            await expect(page.locator(r(step.expect_visible)).first).to_be_visible(timeout=timeout)
        elif action == "wait_for":
            wait = step.wait_for
            if wait.selector:
                await page.locator(r(wait.selector)).first.wait_for(state=wait.state, timeout=timeout)
            elif wait.load_state:
                await page.wait_for_load_state(wait.load_state, timeout=timeout)
            else:
                target = r(wait.url)
                await page.wait_for_url(self.url_for(target) if target.startswith("/") else target, timeout=timeout)
        elif action == "screenshot":
            record.screenshot = await self.capture.screenshot(page, step.screenshot or "screenshot")

    async def navigate(self, page: Any, target: str, record: StepRecord) -> None:
        url = self.url_for(target)
        response = await page.goto(url, wait_until="load", timeout=self.options.navigation_timeout * 1000)
        if response is not None:
            egress = response.headers.get(MARKER.lower())
            if egress == "blocked":  # a redirect led outside the allow-list: the guard refused it
                raise NavigationFailed(f"navigation to {target} was blocked: it redirected to "
                                       f"{redact_url(response.url)}, outside the environment's allow_hosts")
            if egress is not None:
                raise NavigationFailed(f"navigation to {target} failed: {egress.removeprefix('upstream-failed: ')}")
            record.status_code = response.status
            if response.status >= 400:
                raise NavigationFailed(f"navigation to {target} answered HTTP {response.status}")

    async def diagnose(self, page: Any, selector: str) -> dict[str, Any]:
        """Why an element was not actionable."""
        try:
            locator = page.locator(selector)
            count = await locator.count()
            if count == 0:
                return {"reason": "no element matches the selector", "matches": 0}
            first = locator.first
            visible = await first.is_visible()
            enabled = await first.is_enabled(timeout=1000) if visible else None
            state = {"matches": count, "visible": visible, "enabled": enabled}
            if not visible:
                return {"reason": "the element never became visible", **state}
            if enabled is False:
                return {"reason": "the element stays disabled", **state}
            return {"reason": "the element is covered by another one or never became stable/editable", **state}
        except Exception as exc:  # noqa: BLE001
            return {"reason": f"could not examine the element: {str(exc).splitlines()[0]}"}


class NavigationFailed(RuntimeError):
    pass


def selector_of(step: BrowserStep) -> str:
    action = step.action
    value = getattr(step, action)
    if isinstance(value, str):
        return value
    if action == "wait_for":
        return value.selector or value.load_state or value.url
    return getattr(value, "selector", None) or ""


def typed_value(step: BrowserStep) -> str | None:
    if step.action == "fill":
        raw = step.fill.value
        return "•••" if is_secret_key(raw) or is_secret_key(step.fill.selector) else raw
    if step.action == "select":
        return str(step.select.value)
    if step.action == "press":
        return step.press.key
    if step.action == "expect_text":
        return step.expect_text.text
    return None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [line for line in text.splitlines() if line.strip() and "Call log" not in line]
    return lines[0][:300] if lines else type(exc).__name__
