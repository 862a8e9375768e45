"""Live progress on the terminal: bars updated in place on a TTY, plain lines when not.

``display_for(quiet)`` picks one (``PERFCAMPAIGN_PROGRESS=live|plain|off`` overrides):

- :class:`LiveDisplay` (a terminal): a bar per running stage — for load the phase, elapsed of
  planned, percent, time left and ETA, the rate against the target, p95 and errors — redrawn in
  place four times a second (rich); what happens (stage and phase ends, warnings, failures)
  scrolls above the bars;
- :class:`PlainDisplay` (a pipe, CI logs, a file): the same notes as lines, and a status line per
  running stage every few seconds (``PERFCAMPAIGN_PROGRESS_INTERVAL``, default 5 s; 30 s for loads
  longer than ten minutes) — never a line per second per shard;
- :class:`QuietDisplay` (``-q``): nothing while it runs; the end-of-run summary still prints.

Every display is a callable taking :class:`~tasks.base.ProgressEvent` s (the runner's listener),
with :meth:`Display.say` for the CLI's own lines and :meth:`Display.wait` for a spinner while
something starts (the Prefect server). Output goes to stderr: stdout stays for ``--json``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn
from rich.table import Column
from rich.text import Text

from flows.progress.lines import parts
from flows.progress.tracker import Note, StageView, Tracker, fmt_duration
from tasks.base import ProgressEvent

_STYLE = {"info": "", "warning": "yellow", "error": "red", "success": "green"}


def prefix(env: str, stage: str) -> str:
    return f"[{env}] {stage:<9}"


class Display:
    """What every display shares: the tracker, and turning notes into lines."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time):
        self.tracker = Tracker()
        self.clock = clock
        self.wall = wall
        self.lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        with self.lock:
            now = self.clock()
            notes = self.tracker.feed(event, now)
            for note in notes:
                self.note(note)
            self.changed(event, now)

    # overridden below
    def note(self, note: Note) -> None: ...

    def changed(self, event: ProgressEvent, now: float) -> None: ...

    def say(self, text: str, level: str = "info") -> None:
        """A line of the CLI's own (``perfcampaign: …``)."""

    def wait(self, label: str, since: float | None = None) -> Waiting:
        """A spinner (or a line every ten seconds) while something starts (``since``: when it began,
        on :attr:`clock`); ``done`` ends it."""
        return Waiting(self, label, since)

    def close(self) -> None: ...

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Waiting:
    """Returned by :meth:`Display.wait`: ``tick()`` while waiting, ``done(text)`` at the end."""

    def __init__(self, display: Display, label: str, since: float | None = None):
        self.display = display
        self.label = label
        self.started = display.clock() if since is None else since
        self.last = display.clock()

    def elapsed(self) -> float:
        return self.display.clock() - self.started

    def tick(self) -> None:
        now = self.display.clock()
        if now - self.last >= 10.0:
            self.last = now
            self.display.say(f"{self.label} ({fmt_duration(now - self.started)})")

    def done(self, text: str, level: str = "info") -> None:
        if text:
            self.display.say(text, level)


class QuietDisplay(Display):
    """``-q``: the tracker still follows the run (for the end), nothing is printed while it runs."""


class PlainDisplay(Display):
    """Lines, for a pipe or a log file."""

    def __init__(self, stream: TextIO | None = None, interval: float | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.stream = stream or sys.stderr
        self.interval = interval if interval is not None else _interval()
        self.printed: dict[tuple[str, str], float] = {}

    def _write(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe must not stop the campaign
            pass

    def note(self, note: Note) -> None:
        self._write(f"{prefix(note.env, note.stage)} {note.text}")
        if note.kind in ("phase-start", "stage-start"):
            self.printed[(note.env, note.stage)] = self.clock()

    def changed(self, event: ProgressEvent, now: float) -> None:
        view = self.tracker.view(event.env, event.stage)
        if view is None or not view.running or event.kind not in ("item", "info"):
            return
        key = (view.env, view.stage)
        interval = self.interval if (view.total or 0) <= 600 or view.unit != "s" else max(self.interval, 30.0)
        if now - self.printed.get(key, view.started) >= interval:
            self.printed[key] = now
            self._write(self.status(view, now))

    def status(self, view: StageView, now: float) -> str:
        p = parts(view, now, self.wall())
        line = p.detail()
        if not view.is_load and view.last and not p.what:
            line += f"  {view.last}"
        return f"{prefix(view.env, view.stage)} {line}"

    def say(self, text: str, level: str = "info") -> None:
        self._write(f"perfcampaign: {text}")


class LiveDisplay(Display):
    """Bars redrawn in place (rich), notes scrolling above them."""

    def __init__(self, console: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.console = console or Console(stderr=True, highlight=False)
        # one line per stage whatever the width: the detail is cut with an ellipsis, never wrapped
        self.progress = Progress(SpinnerColumn(), _Column(self, "label", "bold"), BarColumn(bar_width=20),
                                 _Column(self, "detail", table_column=Column(no_wrap=True, overflow="ellipsis",
                                                                             ratio=1)),
                                 console=self.console, transient=True, refresh_per_second=4, expand=True)
        self.tasks: dict[tuple[str, str], Any] = {}
        self.started = False

    def _start(self) -> None:
        if not self.started:
            self.started = True
            self.progress.start()

    def note(self, note: Note) -> None:
        self._start()
        style = _STYLE.get(note.level, "")
        self.progress.console.print(f"{prefix(note.env, note.stage)} {note.text}", style=style, markup=False,
                                    highlight=False, soft_wrap=True)

    def changed(self, event: ProgressEvent, now: float) -> None:
        key = (event.env, event.stage)
        view = self.tracker.view(*key)
        if view is None:
            return
        if not view.running:
            task = self.tasks.pop(key, None)
            if task is not None:
                self.progress.remove_task(task)
            return
        fraction = view.fraction()
        if key not in self.tasks:
            self._start()
            self.tasks[key] = self.progress.add_task("", total=None if fraction is None else 1.0, view=view)
        self.progress.update(self.tasks[key], total=None if fraction is None else 1.0,
                             completed=fraction or 0.0, view=view)

    def say(self, text: str, level: str = "info") -> None:
        self._start()
        self.progress.console.print(f"perfcampaign: {text}", style=_STYLE.get(level, ""), markup=False,
                                    highlight=False, soft_wrap=True)

    def wait(self, label: str, since: float | None = None) -> Waiting:
        return _LiveWaiting(self, label, since)

    def close(self) -> None:
        if self.started:
            self.progress.stop()
            self.started = False


class _LiveWaiting(Waiting):
    def __init__(self, display: LiveDisplay, label: str, since: float | None = None):
        super().__init__(display, label, since)
        display._start()
        self.task = display.progress.add_task("", total=None, label=label, since=self.started)

    def tick(self) -> None:  # the spinner and the elapsed time redraw themselves
        pass

    def done(self, text: str, level: str = "info") -> None:
        display: LiveDisplay = self.display  # type: ignore[assignment]
        display.progress.remove_task(self.task)
        if text:
            display.say(text, level)


class _Column(ProgressColumn):
    """A rich progress column showing one of :func:`~flows.progress.lines.parts` of the task's view."""

    def __init__(self, display: LiveDisplay, part: str, style: str = "", table_column: Column | None = None):
        super().__init__(table_column=table_column or Column(no_wrap=True))
        self.display, self.part, self.style = display, part, style

    def render(self, task: Any) -> Text:
        view = task.fields.get("view")
        if view is None:  # a waiting spinner: its label and how long it has waited
            if self.part == "label":
                return Text(task.fields.get("label", ""), style=self.style)
            if self.part == "detail":
                return Text(fmt_duration(self.display.clock() - task.fields.get("since", 0.0)))
            return Text("")
        p = parts(view, self.display.clock(), self.display.wall())
        if self.part == "detail":
            text = Text(no_wrap=True, overflow="ellipsis")
            # what matters most first: a narrow terminal cuts the ETA before the rate, p95 and errors
            for piece, style in ((p.what, ""), (p.percent, "bold"), (p.position, ""), (p.stats, ""),
                                 (p.remaining, "cyan")):
                if piece:
                    text.append(("  " if text else "") + piece, style=style)
            return text
        return Text(getattr(p, self.part), style=self.style, no_wrap=True)


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("PERFCAMPAIGN_PROGRESS_INTERVAL", "5")))
    except ValueError:
        return 5.0


def display_for(quiet: bool = False, stream: TextIO | None = None) -> Display:
    """The display for this terminal: live on a TTY, plain lines otherwise, nothing with ``-q``."""
    stream = stream or sys.stderr
    mode = os.environ.get("PERFCAMPAIGN_PROGRESS", "").lower()
    if quiet or mode == "off":
        return QuietDisplay()
    tty = stream.isatty() and os.environ.get("TERM", "") != "dumb"
    if mode == "live" or (mode != "plain" and tty):
        return LiveDisplay(Console(file=stream, highlight=False, force_terminal=True if mode == "live" else None))
    return PlainDisplay(stream)
