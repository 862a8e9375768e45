"""What one journey captured: its steps, the network calls made, console output, screenshots, Web
Vitals and what the page showed. Plain data, filled by ``api`` and ``browser``, read by the pure
``friction`` detector and by ``rows`` (warehouse rows and the run's JSON document).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

Outcome = Literal["passed", "failed", "skipped"]


@dataclass
class StepRecord:
    index: int
    name: str
    action: str                      # request | think | goto | click | fill | … | start
    target: str                      # selector, METHOD URL, path
    started_at: datetime
    duration_ms: float = 0.0
    outcome: Outcome = "passed"
    failures: list[str] = field(default_factory=list)
    reason: str | None = None        # why it was skipped
    endpoint: str | None = None      # campaign endpoint name (API steps)
    method: str | None = None
    url: str | None = None           # request URL, or the page URL after a browser step
    status_code: int | None = None
    captured: list[str] = field(default_factory=list)   # names of the variables captured (never values)
    screenshot: str | None = None
    value: str | None = None         # what was typed / selected (secrets masked)
    gating: bool = True              # False when the failure is a known gap (readiness blocked it)
    blocker: dict[str, Any] | None = None  # why an element never became actionable

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["started_at"] = self.started_at.isoformat()
        return {k: v for k, v in doc.items() if v not in (None, [], {})}


@dataclass
class NetworkCall:
    seq: int
    method: str
    url: str
    resource_type: str               # document | fetch | xhr | script | … | api (API journeys)
    started_at: datetime
    step_index: int | None = None
    status_code: int | None = None
    duration_ms: float | None = None
    ttfb_ms: float | None = None
    failure: str | None = None       # net::ERR_… or a transport error kind
    blocked: bool = False            # aborted: host outside the allow-list
    from_app: bool = True            # a host of the environment (not a third party)
    endpoint: str | None = None      # campaign endpoint it matches
    template: str | None = None      # that endpoint's path template, e.g. /api/products/{id}
    content_type: str | None = None
    page_url: str | None = None      # the page that made the call (browser journeys)
    expected_status: tuple[int, ...] = ()  # statuses the journey said are fine (API steps)
    body: bytes | None = field(default=None, repr=False)  # kept in memory for mock detection only

    @property
    def is_api(self) -> bool:
        return self.resource_type in ("fetch", "xhr", "api")


@dataclass
class ConsoleEntry:
    kind: Literal["console", "pageerror"]
    level: str                       # error | warning | …
    text: str
    url: str | None = None           # where it was logged from (a script, a failed resource)
    page_url: str | None = None
    step_index: int | None = None


@dataclass
class Screenshot:
    seq: int
    label: str
    path: str
    step_index: int | None
    page_url: str | None
    taken_at: datetime
    bytes: int = 0


@dataclass
class PageVitals:
    seq: int
    url: str
    step_index: int | None
    metrics: dict[str, float]        # LCP, CLS, FCP, TTFB, INP, FID (ms, CLS unitless)
    measured_at: datetime


@dataclass
class PageText:
    """Something a page showed: an error message, or text that looks like placeholder data."""

    kind: Literal["error_message", "placeholder"]
    text: str
    where: str                       # a short CSS path
    page_url: str
    step_index: int | None
    screenshot: str | None = None


@dataclass
class Session:
    journey: str
    kind: Literal["api", "browser"]
    started_at: datetime
    finished_at: datetime | None = None
    steps: list[StepRecord] = field(default_factory=list)
    calls: list[NetworkCall] = field(default_factory=list)
    console: list[ConsoleEntry] = field(default_factory=list)
    screenshots: list[Screenshot] = field(default_factory=list)
    vitals: list[PageVitals] = field(default_factory=list)
    texts: list[PageText] = field(default_factory=list)
    error: str | None = None         # the machinery failed (browser crash), not the target
    egress: dict[str, Any] | None = None  # browser journeys: what the egress guard relayed and cut

    @property
    def passed(self) -> bool:
        return self.error is None and all(s.outcome != "failed" or not s.gating for s in self.steps)

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        return "passed" if self.passed else "failed"

    @property
    def duration_ms(self) -> float:
        if self.finished_at is None:
            return 0.0
        return round((self.finished_at - self.started_at).total_seconds() * 1000, 3)

    def first_failure(self) -> str:
        if self.error:
            return self.error
        for step in self.steps:
            if step.outcome == "failed" and step.gating:
                return f"step {step.index} {step.name}: {'; '.join(step.failures)}"
        return ""

    def screenshot_for(self, step_index: int | None) -> str | None:
        """The screenshot taken at or right after ``step_index`` (else the last one before it)."""
        if not self.screenshots:
            return None
        if step_index is None:
            return self.screenshots[-1].path
        after = [s for s in self.screenshots if s.step_index is not None and s.step_index >= step_index]
        if after:
            return after[0].path
        return self.screenshots[-1].path
