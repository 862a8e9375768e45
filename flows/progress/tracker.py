"""What a running campaign looks like from outside: per environment and stage, how far it is.

:class:`Tracker` turns the :class:`~tasks.base.ProgressEvent` stream into :class:`StageView` s
(elapsed, done of total, remaining, ETA, and for load the current phase, rate against the target,
p95 and errors) and into :class:`Note` s — the lines worth telling people as they happen: a stage
or a load phase starting and ending, warnings, failures grouped (twenty endpoints that all failed
to connect are one line, not twenty). The terminal (``flows.progress.live``/``plain``) and the
Prefect flow (logs, progress artifact: ``flows.progress.flowrun``) read the same views and notes.

Pure: no I/O, no clock of its own (``now`` is passed in, monotonic seconds), so it is tested with
made-up events.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from tasks.base import ProgressEvent

NoteKind = Literal["stage-start", "stage-end", "phase-start", "phase-end", "info", "warning", "failure"]

#: "endpoint-name: what happened" — the part after the name groups identical failures
_ITEM = re.compile(r"^(?P<name>[^:]{1,120}):\s+(?P<what>.+)$")
#: latencies differ between otherwise identical failures
_LATENCY = re.compile(r"\d+(?:\.\d+)?\s?ms\b")


@dataclass
class Note:
    """A line worth telling as it happens."""

    kind: NoteKind
    env: str
    stage: str
    text: str
    level: Literal["info", "warning", "error", "success"] = "info"


@dataclass
class Phase:
    """One load phase as planned: offsets in seconds from the start of the load."""

    index: int
    name: str
    start: float
    duration: float
    executor: str = ""
    rate: float = 0.0
    rate_to: float | None = None
    vus: int = 0
    vus_to: int | None = None
    steps: float = 1.0

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def closed(self) -> bool:
        return "vus" in self.executor or (not self.rate and bool(self.vus))

    def target_rps(self, offset: float) -> float | None:
        """Requests per second the plan asks for ``offset`` seconds into the load (open model)."""
        if self.closed or not (self.rate or self.rate_to):
            return None
        to = self.rate if self.rate_to is None else self.rate_to
        frac = min(max((offset - self.start) / self.duration, 0.0), 1.0) if self.duration else 1.0
        return (self.rate + (to - self.rate) * frac) * self.steps

    def target_vus(self, offset: float) -> int | None:
        if not self.closed:
            return None
        to = self.vus if self.vus_to is None else self.vus_to
        frac = min(max((offset - self.start) / self.duration, 0.0), 1.0) if self.duration else 1.0
        return round(self.vus + (to - self.vus) * frac)

    def describe(self) -> str:
        if self.closed:
            vus = f"{self.vus}" if self.vus_to in (None, self.vus) else f"{self.vus}→{self.vus_to}"
            return f"{vus} VUs for {fmt_duration(self.duration)}"
        rate = f"{self.rate:g}" if self.rate_to in (None, self.rate) else f"{self.rate:g}→{self.rate_to:g}"
        unit = "req/s" if self.steps == 1 else f"iterations/s × {self.steps:g} requests"
        return f"{rate} {unit} for {fmt_duration(self.duration)}"


@dataclass
class PhaseStats:
    requests: int = 0
    errors: int = 0
    seconds: int = 0
    p95s: list[float] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> None:
        self.requests += int(row.get("requests") or 0)
        self.errors += int(row.get("errors") or 0)
        self.seconds += 1
        if row.get("p95_ms") is not None:
            self.p95s.append(float(row["p95_ms"]))

    def line(self) -> str:
        rps = self.requests / self.seconds if self.seconds else 0.0
        p95 = f", p95 {fmt_ms(statistics.median(self.p95s))} (median second), worst {fmt_ms(max(self.p95s))}" \
            if self.p95s else ""
        return f"{self.requests:,} requests, {rps:,.1f} req/s{p95}, {fmt_errors(self.errors, self.requests)}"


@dataclass
class StageView:
    """One stage of one environment as it runs."""

    env: str
    stage: str
    started: float
    ended: float | None = None
    status: str | None = None
    error: str | None = None
    items: int = 0
    failed: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    done: float | None = None
    total: float | None = None
    unit: str = ""
    last: str = ""
    # load
    phases: list[Phase] = field(default_factory=list)
    phase: int = -1
    phase_stats: PhaseStats = field(default_factory=PhaseStats)
    sample: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    errors: int = 0
    load_started: float | None = None
    #: failures grouped by what happened (latencies aside): group → [(endpoint, what)]
    failures: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def is_load(self) -> bool:
        return bool(self.phases)

    def elapsed(self, now: float) -> float:
        return (self.ended if self.ended is not None else now) - self.started

    def fraction(self) -> float | None:
        """How far the stage is, 0..1, when its length is known."""
        if self.ended is not None:
            return 1.0
        if self.total and self.done is not None:
            return min(max(self.done / self.total, 0.0), 1.0)
        return None

    def remaining(self, now: float) -> float | None:
        """Seconds left: the load's planned seconds not yet sent (a plan, not a guess); for other
        stages with a known total, extrapolated from the pace so far."""
        if self.ended is not None:
            return 0.0
        if self.total is None or self.done is None:
            return None
        if self.unit == "s":
            return max(self.total - self.done, 0.0)
        if self.done <= 0:
            return None
        return self.elapsed(now) * (self.total - self.done) / self.done

    def current_phase(self) -> Phase | None:
        return self.phases[self.phase] if 0 <= self.phase < len(self.phases) else None

    def target(self) -> tuple[float | None, int | None]:
        """The planned requests/s (open model) or VUs (closed) at the latest second."""
        phase = self.current_phase()
        if phase is None:
            return None, None
        offset = float(self.sample.get("second", 0)) + 0.5
        return phase.target_rps(offset), phase.target_vus(offset)

    def counts(self) -> str:
        """``12 checked, 2 failed`` / ``real 10, mock 2``."""
        if self.verdicts:
            return ", ".join(f"{v} {n}" for v, n in self.verdicts.most_common())
        if not self.items:
            return ""
        noun = {"smoke": "checked", "e2e": "steps run"}.get(self.stage, "done")
        return f"{self.items} {noun}" + (f", {self.failed} failed" if self.failed else "")


class Tracker:
    """Feeds on progress events; keeps a :class:`StageView` per environment and stage."""

    def __init__(self) -> None:
        self.views: dict[tuple[str, str], StageView] = {}
        self.order: list[tuple[str, str]] = []
        self.warnings: Counter[tuple[str, str]] = Counter()

    # -- reading ----------------------------------------------------------------------------------
    def active(self) -> list[StageView]:
        return [self.views[k] for k in self.order if self.views[k].running]

    def view(self, env: str, stage: str) -> StageView | None:
        return self.views.get((env, stage))

    # -- feeding ----------------------------------------------------------------------------------
    def feed(self, event: ProgressEvent, now: float) -> list[Note]:
        """Update the views with ``event``; the notes it gives rise to, in order."""
        key = (event.env, event.stage)
        if event.kind == "stage-start":
            self.views[key] = StageView(event.env, event.stage, started=now, total=event.total,
                                        unit=event.unit, done=0.0 if event.total else None)
            if key in self.order:
                self.order.remove(key)
            self.order.append(key)
            return [Note("stage-start", event.env, event.stage, "started")]
        view = self.views.get(key)
        if event.kind == "stage-end":
            return self._end(view, event, now)
        if event.kind == "warning":
            self.warnings[(event.env, event.message)] += 1
            if self.warnings[(event.env, event.message)] > 1:
                return []  # said once per environment; the end-of-run summary has the rest
            return [Note("warning", event.env, event.stage, event.message, "warning")]
        if view is None:  # outside a stage (service start, …): a line as it comes
            if event.kind == "info":
                return [Note("info", event.env, event.stage, event.message)]
            return []
        if event.done is not None:
            view.done = event.done
        if event.total is not None:
            view.total = event.total
            view.unit = event.unit or view.unit
        if event.kind == "info":
            view.last = event.message
            notes = [Note("info", event.env, event.stage, event.message)]
            if event.data.get("phases"):
                view.phases = _phases(event.data["phases"])
                view.load_started = now
                notes += self._enter_phase(view, 0)
            return notes
        if event.kind == "item":
            if view.is_load and "second" in event.data:
                return self._sample(view, event.data)
            return self._item(view, event)
        return []

    def _item(self, view: StageView, event: ProgressEvent) -> list[Note]:
        view.items += 1
        view.last = event.message
        if event.done is None and view.total and view.unit not in ("", "s"):
            view.done = min(float(view.items), view.total)  # an item is one unit (an endpoint)
        data = event.data
        if "verdict" in data:
            view.verdicts[str(data["verdict"])] += 1
        ok = data.get("passed", data.get("verdict", "real") in ("real", "unverified"))
        if ok is False:
            view.failed += 1
            match = _ITEM.match(event.message)
            name = str(data.get("endpoint") or (match.group("name") if match else ""))
            what = match.group("what") if match else event.message
            view.failures.setdefault(_group_key(what), []).append((name, what))
        return []

    def _sample(self, view: StageView, row: dict[str, Any]) -> list[Note]:
        notes: list[Note] = []
        second = int(row.get("second") or 0)
        index = _phase_index(view.phases, second + 0.5)
        if index > view.phase:
            notes += self._leave_phase(view)
            notes += self._enter_phase(view, index)
        view.sample = dict(row)
        view.requests += int(row.get("requests") or 0)
        view.errors += int(row.get("errors") or 0)
        view.phase_stats.add(row)
        return notes

    def _enter_phase(self, view: StageView, index: int) -> list[Note]:
        view.phase = index
        view.phase_stats = PhaseStats()
        phase = view.current_phase()
        if phase is None:
            return []
        return [Note("phase-start", view.env, view.stage,
                     f"phase {index + 1}/{len(view.phases)} {phase.name}: {phase.describe()}")]

    def _leave_phase(self, view: StageView) -> list[Note]:
        phase = view.current_phase()
        if phase is None or not view.phase_stats.seconds:
            return []
        return [Note("phase-end", view.env, view.stage,
                     f"phase {phase.index + 1}/{len(view.phases)} {phase.name} done: {view.phase_stats.line()}")]

    def _end(self, view: StageView | None, event: ProgressEvent, now: float) -> list[Note]:
        status = str(event.data.get("status") or "")
        notes: list[Note] = []
        if view is None:  # skipped or refused, or a step with no start (the analysis)
            return [Note("stage-end", event.env, event.stage, event.message.removeprefix(f"{event.stage} "),
                         _level(status))]
        notes += self._leave_phase(view)
        view.ended, view.status, view.error = now, status, event.data.get("error")
        for group, members in view.failures.items():
            if len(members) == 1:
                text = f"{members[0][0]}: {members[0][1]}"
            else:
                names = [name for name, _ in members]
                shown = ", ".join(names[:3]) + (f", … (+{len(names) - 3})" if len(names) > 3 else "")
                noun = {"e2e": "steps", "chaos": "items"}.get(view.stage, "endpoints")
                text = f"{len(names)} {noun}: {group} ({shown})"
            notes.append(Note("failure", view.env, view.stage, text, "warning"))
        text = f"{status or event.message} in {fmt_duration(view.elapsed(now))}"
        detail = view.counts() if not view.is_load else (
            f"{view.requests:,} requests, {fmt_errors(view.errors, view.requests)}" if view.requests else "")
        if detail:
            text += f" — {detail}"
        if view.error:
            text += f": {view.error}"
        notes.append(Note("stage-end", view.env, view.stage, text, _level(status)))
        return notes


def _level(status: str) -> Literal["info", "warning", "error", "success"]:
    return {"passed": "success", "failed": "error", "error": "error", "refused": "warning",
            "interrupted": "warning"}.get(status, "info")  # type: ignore[return-value]


def _group_key(what: str) -> str:
    """Failures that differ only in a latency are one group."""
    return _LATENCY.sub("… ms", what)


def _phases(raw: list[dict[str, Any]]) -> list[Phase]:
    phases, start = [], 0.0
    for i, p in enumerate(raw):
        duration = float(p.get("duration_s") or 0.0)
        phases.append(Phase(index=i, name=str(p.get("name") or p.get("executor") or f"phase {i + 1}"), start=start,
                            duration=duration, executor=str(p.get("executor") or ""), rate=float(p.get("rate") or 0),
                            rate_to=p.get("rate_to"), vus=int(p.get("vus") or 0), vus_to=p.get("vus_to"),
                            steps=float(p.get("steps") or 1.0)))
        start += duration
    return phases


def _phase_index(phases: list[Phase], offset: float) -> int:
    for phase in phases:
        if offset < phase.end:
            return phase.index
    return len(phases) - 1


# -- units, said the same way everywhere -----------------------------------------------------------

def fmt_duration(seconds: float | None) -> str:
    """``0.8 s``, ``12 s``, ``2:05``, ``1:02:05``."""
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def fmt_clock(seconds: float | None) -> str:
    """A position in a timeline: ``0:07``, ``12:30``, ``1:02:05``."""
    if seconds is None:
        return "–:––"
    s = int(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def fmt_errors(errors: int, requests: int) -> str:
    if not errors:
        return "0 errors"
    rate = errors / requests if requests else 1.0
    return f"{errors:,} error{'s' if errors > 1 else ''} ({rate:.2%})"
