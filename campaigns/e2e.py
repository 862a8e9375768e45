"""The campaign file's ``e2e:`` section: API journeys over HTTP and browser journeys in Chromium.

An API journey is Artillery's ``flow`` (seed 003) written as ordered steps: each sends a campaign
endpoint by name or an inline request, may ``capture`` values from the JSON body (JSON paths) or
from headers into variables for later steps, runs only ``if`` a variable is set (Artillery's
``ifTrue``), checks an ``expect`` block and may ``think`` afterwards::

    e2e:
      api_journeys:
        - name: shopper
          steps:
            - {endpoint: sign-in, capture: {token: $.token}, expect: {status: [200, 401]}}
            - endpoint: profile
              if: token
              headers: {Authorization: "Bearer {{ token }}"}
            - {method: GET, path: "/api/products?limit=5", capture: {first: "items[0].id"}}
            - {think: 500ms}

A browser journey opens ``start`` in a fresh browser context and runs one action per step: ``goto``,
``click``, ``fill``, ``press``, ``select``, ``expect_text``, ``expect_visible``, ``wait_for`` or
``screenshot``; selectors are Playwright's (CSS, ``text=…``, ``role=button[name="Buy"]``)::

      browser_journeys:
        - name: sign-in
          start: /app/
          steps:
            - fill: {selector: "#email", value: "{{ users.email }}"}
            - fill: {selector: "#password", value: "{{ users.password }}"}
            - click: "#sign-in-button"
            - expect_text: {selector: "#welcome", text: Welcome}
            - screenshot: dashboard

Endpoint (and environment) names are checked against the campaign's by :func:`check_in_campaign`,
every unknown name at once; ``Campaign`` calls it from a validator on its ``e2e`` field, since only
the campaign knows its endpoints.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ByteSize, Field, field_validator, model_validator

from campaigns.model import Expect, Method, Strict
from campaigns.types import Duration, Slug, check_headers

_VAR = re.compile(r"^!?\s*[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*$")


# --------------------------------------------------------------------------------------------
# API journeys
# --------------------------------------------------------------------------------------------


class ApiStep(Strict):
    """One request of an API journey (or a pause, when only ``think`` is given)."""

    name: str | None = Field(None, description="Label in reports (default: the endpoint or METHOD path).")
    endpoint: str | None = Field(None, description="Name of a campaign endpoint to send.")
    method: Method | None = Field(None, description="Inline request: HTTP method (default GET).")
    path: str | None = Field(None, description="Inline request: path from the base URL; templates allowed.")
    query: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="Added to (and overriding) the endpoint's headers.")
    body: Any = Field(None, alias="json", description="JSON body (overrides the endpoint's).")
    capture: dict[str, str] = Field(default_factory=dict,
                                    description="Variable → JSON path in the response, e.g. {token: $.token}.")
    capture_headers: dict[str, str] = Field(default_factory=dict,
                                            description="Variable → response header name.")
    if_: str | None = Field(None, alias="if",
                            description="Run only when this variable is set and truthy ('!name' for unset).")
    expect: Expect | None = Field(None, description="Default: the endpoint's expect, else any 2xx.")
    think: Duration | None = Field(None, description="Pause after the step, e.g. '500ms'.")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("a path starts with '/' (the base URL comes from the environment)")
        return value

    @field_validator("if_")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None and not _VAR.match(value.strip()):
            raise ValueError(f"'if' takes a variable name such as 'token' or '!token', not {value!r}")
        return value

    _headers = field_validator("headers")(classmethod(lambda cls, v: check_headers(v)))

    @model_validator(mode="after")
    def _kind(self) -> ApiStep:
        if self.endpoint and (self.path or self.method):
            raise ValueError("a step sends either an endpoint by name or an inline method/path, not both")
        if not self.endpoint and not self.path:
            if self.method or self.query or self.headers or self.body is not None or self.capture \
                    or self.capture_headers or self.expect:
                raise ValueError("an inline request needs a path (or name a campaign endpoint)")
            if self.think is None:
                raise ValueError("a step needs an endpoint, a path, or a think time")
        return self

    @property
    def is_pause(self) -> bool:
        return not self.endpoint and not self.path


class ApiJourney(Strict):
    name: Slug
    description: str | None = None
    steps: list[ApiStep] = Field(min_length=1)
    environments: list[str] | None = Field(None, description="Environments that run it (default all).")
    continue_on_failure: bool = Field(False, description="Run the remaining steps after a failed one.")


# --------------------------------------------------------------------------------------------
# Browser journeys
# --------------------------------------------------------------------------------------------


class FillAction(Strict):
    selector: str
    value: str


class PressAction(Strict):
    selector: str | None = Field(None, description="Element to focus first (default: the focused one).")
    key: str = Field(description="A key or chord, e.g. 'Enter', 'Control+A'.")


class SelectAction(Strict):
    selector: str
    value: str | list[str] = Field(description="Option value(s) or label(s).")


class ExpectTextAction(Strict):
    selector: str = "body"
    text: str = Field(description="Text the element must contain.")
    ignore_case: bool = False


class WaitForAction(Strict):
    selector: str | None = None
    state: Literal["attached", "detached", "visible", "hidden"] = "visible"
    load_state: Literal["load", "domcontentloaded", "networkidle"] | None = None
    url: str | None = Field(None, description="Glob or path the page must reach, e.g. '**/done'.")

    @model_validator(mode="after")
    def _one(self) -> WaitForAction:
        if sum(x is not None for x in (self.selector, self.load_state, self.url)) != 1:
            raise ValueError("wait_for takes exactly one of selector, load_state or url")
        return self


BROWSER_ACTIONS = ("goto", "click", "fill", "press", "select", "expect_text", "expect_visible", "wait_for",
                   "screenshot")


class BrowserStep(Strict):
    """Exactly one action, plus an optional label and timeout."""

    name: str | None = None
    timeout: Duration | None = Field(None, gt=0, description="Override the action timeout for this step.")
    goto: str | None = Field(None, description="Path from the base URL (or a URL on the allow-list).")
    click: str | None = Field(None, description="Selector of the element to click.")
    fill: FillAction | None = None
    press: PressAction | None = None
    select: SelectAction | None = None
    expect_text: ExpectTextAction | None = None
    expect_visible: str | None = Field(None, description="Selector that must become visible.")
    wait_for: WaitForAction | None = None
    screenshot: str | None = Field(None, description="Label of a screenshot taken now.")

    @field_validator("wait_for", mode="before")
    @classmethod
    def _wait_shorthand(cls, value: Any) -> Any:
        return {"selector": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _exactly_one(self) -> BrowserStep:
        chosen = [a for a in BROWSER_ACTIONS if getattr(self, a) is not None]
        if len(chosen) != 1:
            raise ValueError(f"a browser step has exactly one action ({', '.join(BROWSER_ACTIONS)}); "
                             f"found {chosen or 'none'}")
        return self

    @property
    def action(self) -> str:
        return next(a for a in BROWSER_ACTIONS if getattr(self, a) is not None)


class Viewport(Strict):
    width: int = Field(1280, ge=200, le=7680)
    height: int = Field(800, ge=200, le=4320)


class BrowserJourney(Strict):
    name: Slug
    description: str | None = None
    start: str = Field("/", description="Path opened first (from the base URL).")
    steps: list[BrowserStep] = Field(default_factory=list)
    environments: list[str] | None = Field(None, description="Environments that run it (default all).")
    viewport: Viewport | None = None

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        if not value.startswith(("/", "http://", "https://")):
            raise ValueError("start is a path from the base URL, e.g. '/app/'")
        return value


# --------------------------------------------------------------------------------------------
# Options and the section
# --------------------------------------------------------------------------------------------


class E2EOptions(Strict):
    slow_threshold_ms: float = Field(2000, gt=0, description="A response slower than this is a friction point "
                                                             "(seed 000: > 2 s).")
    headless: bool = True
    action_timeout: Duration = Field(10.0, gt=0, description="How long a click/fill/expect may wait.")
    navigation_timeout: Duration = Field(30.0, gt=0)
    request_timeout: Duration = Field(10.0, gt=0, description="API journeys: timeout per request.")
    cookies: bool = Field(True, description="API journeys: a cookie jar per journey (it starts empty; Set-Cookie "
                                            "answers are sent back on its next steps), as in Artillery and k6.")
    viewport: Viewport = Field(default_factory=Viewport)
    screenshots: Literal["key", "every_step", "failures"] = Field(
        "key", description="key: start, screenshot steps, failures and journey end.")
    fail_on_poor_vitals: bool = Field(False, description="A 'poor' Web Vital fails the stage's gates.")
    browser_path: str | None = Field(None, description="Chromium executable (default: $PERFCAMPAIGN_CHROMIUM, "
                                                       "then chromium on PATH).")
    block_outside_hosts: bool = Field(True, description="Abort browser requests to hosts outside the "
                                                        "environment's allow_hosts.")
    placeholder_texts: list[str] = Field(default_factory=list,
                                         description="More texts that betray mock data (besides Lorem ipsum, …).")
    ignore: list[str] = Field(default_factory=list,
                              description="Friction points whose key contains one of these are dropped, e.g. "
                                          "'GET /api/poll' or 'console_error:/admin'.")
    ignore_https_errors: bool = Field(False, description="Accept self-signed certificates (staging).")
    max_document_bytes: ByteSize = Field(
        2 * 1024 * 1024, description="Browser: a page (HTML document) is cut past this, e.g. '2MiB' (64 KiB to "
                                     "256 MiB); Chromium takes ~70 MB per MiB of page text. Cuts are reported.")
    max_response_bytes: ByteSize = Field(
        8 * 1024 * 1024, description="Browser: any other response (script, image, fetch) is cut past this, e.g. "
                                     "'8MiB' (64 KiB to 1 GiB), counted inflated for gzip/deflate/br.")

    @field_validator("max_document_bytes", "max_response_bytes")
    @classmethod
    def _byte_bounds(cls, value: int, info: Any) -> int:
        low, high = 64 << 10, (256 << 20 if info.field_name == "max_document_bytes" else 1 << 30)
        if not low <= value <= high:
            raise ValueError(f"{info.field_name} is between {low} and {high} bytes")
        return value


class E2ESpec(Strict):
    """The ``e2e:`` section of a campaign file."""

    api_journeys: list[ApiJourney] = Field(default_factory=list)
    browser_journeys: list[BrowserJourney] = Field(default_factory=list)
    options: E2EOptions = Field(default_factory=E2EOptions)

    @model_validator(mode="after")
    def _names(self) -> E2ESpec:
        seen: set[str] = set()
        for journey in [*self.api_journeys, *self.browser_journeys]:
            if journey.name in seen:
                raise ValueError(f"journey name {journey.name!r} is used twice")
            seen.add(journey.name)
        if not seen:
            raise ValueError("the e2e section needs at least one api_journeys or browser_journeys entry")
        return self

    def endpoint_references(self) -> list[tuple[str, str]]:
        """``(where, endpoint name)`` for every step that names an endpoint."""
        return [(f"e2e.api_journeys[{j}].steps[{s}].endpoint", step.endpoint)
                for j, journey in enumerate(self.api_journeys)
                for s, step in enumerate(journey.steps) if step.endpoint]

    def unknown_endpoints(self, known: set[str]) -> list[str]:
        """One message per step naming an endpoint the campaign does not have."""
        return [f"{where}: unknown endpoint {name!r}" for where, name in self.endpoint_references()
                if name not in known]

    def unknown_environments(self, known: set[str]) -> list[str]:
        out = []
        for kind, journeys in (("api_journeys", self.api_journeys), ("browser_journeys", self.browser_journeys)):
            for j, journey in enumerate(journeys):
                for env in journey.environments or []:
                    if env not in known:
                        out.append(f"e2e.{kind}[{j}].environments: unknown environment {env!r}")
        return out


def check_references(spec: E2ESpec | None, endpoints: set[str], environments: set[str]) -> E2ESpec | None:
    """Raise one ``ValueError`` listing every unknown endpoint and environment name at once."""
    if spec is None:
        return spec
    problems = spec.unknown_endpoints(endpoints)
    if problems:
        problems[-1] += f" (the campaign's endpoints: {', '.join(sorted(endpoints)) or 'none'})"
    problems += spec.unknown_environments(environments)
    if problems:
        raise ValueError("; ".join(problems))
    return spec


def check_in_campaign(spec: E2ESpec | None, data: dict[str, Any]) -> E2ESpec | None:
    """For ``Campaign``'s field validator on ``e2e``: ``data`` holds the fields validated before it.
    Endpoints or environments that failed their own validation are not checked against."""
    if spec is None or "endpoints" not in data or "environments" not in data:
        return spec
    return check_references(spec, {ep.name for ep in data["endpoints"]}, set(data["environments"]))


__all__ = ["ApiJourney", "ApiStep", "BrowserJourney", "BrowserStep", "E2EOptions", "E2ESpec", "check_in_campaign",
           "check_references"]
