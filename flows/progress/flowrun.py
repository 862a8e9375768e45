"""The flow run's face in the Prefect UI while it runs: a progress artifact and log lines.

- One progress artifact per flow run (key ``<campaign>-progress``), created when the flow starts
  and updated every few seconds during long stages and at each stage's end: its bar is the whole
  run's progress, its description the current status line (environment, stage, load phase,
  elapsed of planned, ETA, rate against the target, p95, errors) and the stages done so far.
- A log line per stage start and end, per load phase start and end (with the phase's requests,
  rate, p95 and errors), per warning, and a status line every minute during a long load, so the
  flow run's logs tell what the load did as it did it.

Updates go through Prefect's async artifact API from the flow's event loop, one at a time (a
newer state replaces one not yet sent); an update that fails is logged once and never stops the
campaign.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from flows.progress.lines import markdown, parts
from flows.progress.summary import MARK
from flows.progress.tracker import Note, Tracker
from tasks.base import ProgressEvent

#: the share of a run's time each stage usually takes (the bar's weights; the load's own share
#: is then filled by its planned seconds exactly)
WEIGHTS = {"readiness": 1.0, "smoke": 1.0, "e2e": 2.0, "load": 6.0, "chaos": 3.0}
LOG_LEVEL = {"info": logging.INFO, "success": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class FlowProgress:
    """A progress listener for the flow (``emit`` calls it with every event)."""

    def __init__(self, logger: Any, key: str, plans: dict[str, list[str]], endpoints: int = 0,
                 interval: float = 3.0, log_every: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.logger = logger
        self.key = key
        self.plans = plans
        self.endpoints = endpoints
        self.interval = interval
        self.log_every = log_every
        self.clock = clock
        self.tracker = Tracker()
        self.artifact_id: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_push = 0.0
        self.last_log: dict[tuple[str, str], float] = {}
        self.sent = 0.0
        self.pending: asyncio.Task[None] | None = None
        self.dirty = False
        self.failed_once = False
        self.updates = 0

    # -- the artifact ------------------------------------------------------------------------------
    async def start(self) -> None:
        from prefect.artifacts import acreate_progress_artifact

        self.loop = asyncio.get_running_loop()
        try:
            self.artifact_id = await acreate_progress_artifact(0.0, key=self.key, description=self.description())
        except Exception as exc:  # noqa: BLE001 - the UI's bar is a courtesy, never the run
            self._warn_once(f"progress artifact not created: {exc}")

    async def finish(self, status: str) -> None:
        """The last update: 100 % and how the run ended."""
        if self.pending is not None:
            await asyncio.gather(self.pending, return_exceptions=True)
        await self._send(100.0, self.description(final=status))

    def fraction(self) -> float:
        """The whole run, 0..1: environments equal, stages weighted, monotonic."""
        envs = [e for e, stages in self.plans.items() if stages] or list(self.plans)
        if not envs:
            return 0.0
        total = 0.0
        for env in envs:
            stages = self.plans[env]
            weights = sum(WEIGHTS.get(s, 1.0) for s in stages) or 1.0
            done = 0.0
            for stage in stages:
                view = self.tracker.view(env, stage)
                if view is None:
                    continue
                share = view.fraction()
                if share is None:  # readiness, smoke: endpoints done of the campaign's, never full before the end
                    share = min(view.items / self.endpoints, 0.95) if self.endpoints else 0.5
                done += WEIGHTS.get(stage, 1.0) * share
            total += done / weights
        value = total / len(envs)
        self.sent = max(self.sent, value)
        return self.sent

    def description(self, final: str | None = None) -> str:
        now = self.clock()
        lines = []
        if final is not None:
            lines.append(f"**{final}**")
        for view in self.tracker.active():
            lines.append(f"**{view.env} · {view.stage}** · {markdown(view, now)}")
        finished = [v for k in self.tracker.order if not (v := self.tracker.views[k]).running]
        if finished:
            lines.append("done: " + ", ".join(f"{MARK.get(v.status or '', '?')} {v.env} {v.stage}" for v in finished))
        return "\n\n".join(lines) or "starting"

    async def _send(self, percent: float, description: str) -> None:
        if self.artifact_id is None:
            return
        from prefect.artifacts import aupdate_progress_artifact

        try:
            await aupdate_progress_artifact(self.artifact_id, percent, description=description)
            self.updates += 1
        except Exception as exc:  # noqa: BLE001
            self._warn_once(f"progress artifact not updated: {exc}")

    async def _push(self) -> None:
        while True:
            self.dirty = False
            await self._send(round(self.fraction() * 100, 1), self.description())
            if not self.dirty:
                return

    def _kick(self) -> None:
        if self.pending is not None and not self.pending.done():
            self.dirty = True
            return
        if self.loop is None:
            return
        self.pending = self.loop.create_task(self._push())

    # -- the listener --------------------------------------------------------------------------
    def __call__(self, event: ProgressEvent) -> None:
        now = self.clock()
        for note in self.tracker.feed(event, now):
            self._log(note)
        view = self.tracker.view(event.env, event.stage)
        if view is not None and view.running and view.is_load and event.kind == "item":
            key = (view.env, view.stage)
            if now - self.last_log.get(key, view.started) >= self.log_every:
                self.last_log[key] = now
                self.logger.info("[%s] %s: %s", view.env, view.stage, parts(view, now).detail())
        if event.kind == "stage-end" or now - self.last_push >= self.interval:
            self.last_push = now
            self._schedule()

    def _schedule(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is self.loop:
            self._kick()
        elif self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._kick)

    def _log(self, note: Note) -> None:
        self.logger.log(LOG_LEVEL.get(note.level, logging.INFO), "[%s] %s: %s", note.env, note.stage, note.text)
        if note.kind in ("phase-start", "phase-end", "stage-start"):
            self.last_log[(note.env, note.stage)] = self.clock()

    def _warn_once(self, message: str) -> None:
        if not self.failed_once:
            self.failed_once = True
            self.logger.warning(message)
