"""Live progress from made-up events: the tracker's views and notes, plain lines every few seconds
(never a line per second), bars redrawn in place on a real pseudo-terminal, the k6-style summary."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from flows.progress.display import LiveDisplay, PlainDisplay, QuietDisplay, display_for
from flows.progress.lines import parts
from flows.progress.summary import summary_lines, summary_text
from flows.progress.tracker import Tracker, fmt_clock, fmt_duration
from tasks.base import ProgressEvent as E
from tasks.document import RunDocument

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent

PHASES = [{"name": "warm-up", "duration_s": 10, "executor": "ramping-arrival-rate", "rate": 10, "rate_to": 50,
           "steps": 2.0},
          {"name": "sustained", "duration_s": 50, "executor": "constant-arrival-rate", "rate": 50, "steps": 2.0}]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def load_events(seconds: int = 60, errors_at: int | None = None):
    yield E("staging", "load", "stage-start", "load started")
    yield E("staging", "load", "info", "load test, open model, 60s on 2 shard(s)", {"phases": PHASES}, done=0,
            total=60, unit="s")
    for s in range(seconds):
        yield E("staging", "load", "item", f"t={s}s", {"second": s, "requests": 100, "errors": int(s == errors_at),
                                                        "rps": 100.0, "p95_ms": 10.0 + s % 5, "target_rate": 50},
                done=s + 1, total=60, unit="s")
    yield E("staging", "load", "stage-end", "load passed", {"status": "passed"})


def test_the_tracker_follows_phases_rate_against_target_and_eta():
    tracker, now = Tracker(), 0.0
    notes = []
    for event in list(load_events(30))[:-1]:
        now += 1 if event.kind == "item" else 0
        notes += tracker.feed(event, now)
    view = tracker.view("staging", "load")
    assert view.current_phase().name == "sustained" and view.phase == 1
    assert view.fraction() == 0.5 and view.remaining(now) == 30.0      # planned seconds, not a guess
    target_rps, target_vus = view.target()
    assert target_rps == 100.0 and target_vus is None                   # 50 iterations/s × 2 requests
    p = parts(view, now, wall=0.0)
    assert (p.what, p.position, p.percent) == ("sustained 2/2", "0:30/1:00", "50%")
    assert p.remaining.startswith("0:30 left, ETA ")
    assert p.stats == "100 req/s (target 100)  p95 14.0 ms  0 errors"
    texts = [n.text for n in notes]
    assert texts[:3] == ["started", "load test, open model, 60s on 2 shard(s)",
                         "phase 1/2 warm-up: 10→50 iterations/s × 2 requests for 10 s"]
    assert texts[3].startswith("phase 1/2 warm-up done: 1,000 requests, 100.0 req/s, p95 12.0 ms")
    assert texts[4] == "phase 2/2 sustained: 50 iterations/s × 2 requests for 50 s"
    # ramping target: halfway through the warm-up, 30 iterations/s
    assert view.phases[0].target_rps(5.0) == 60.0


def test_twenty_unreachable_endpoints_are_one_line_not_twenty():
    tracker = Tracker()
    notes = tracker.feed(E("dev", "readiness", "stage-start", "readiness started"), 0.0)
    for i in range(20):
        notes += tracker.feed(E("dev", "readiness", "item", f"ep-{i}: unreachable (90%)",
                                {"endpoint": f"ep-{i}", "verdict": "unreachable"}), 0.1 * i)
    notes += tracker.feed(E("dev", "readiness", "stage-end", "readiness error",
                            {"status": "error", "error": "the target was unreachable"}), 2.5)
    lines = [n.text for n in notes if "unreachable" in n.text]
    assert lines == ["20 endpoints: unreachable (90%) (ep-0, ep-1, ep-2, … (+17))",
                     "error in 2.5 s — unreachable 20: the target was unreachable"]


def test_failures_that_differ_only_in_latency_are_grouped_and_a_single_one_keeps_its_name():
    tracker = Tracker()
    tracker.feed(E("dev", "smoke", "stage-start", ""), 0.0)
    for i, ms in enumerate((3.1, 2.7, 4.0)):
        tracker.feed(E("dev", "smoke", "item", f"p{i}: 404 in {ms} ms FAIL", {"endpoint": f"p{i}", "passed": False}),
                     0.1)
    tracker.feed(E("dev", "smoke", "item", "orders: connect: refused", {"endpoint": "orders", "passed": False}), 0.2)
    tracker.feed(E("dev", "smoke", "item", "health: 200 in 1.0 ms ok", {"endpoint": "health", "passed": True}), 0.3)
    notes = tracker.feed(E("dev", "smoke", "stage-end", "smoke failed", {"status": "failed"}), 0.4)
    assert [n.text for n in notes] == ["3 endpoints: 404 in … ms FAIL (p0, p1, p2)", "orders: connect: refused",
                                       "failed in 400 ms — 5 checked, 4 failed"]


def test_warnings_are_said_once_per_environment():
    tracker = Tracker()
    said = [tracker.feed(E("dev", "load", "warning", "numbers not trustworthy"), 0.0) for _ in range(3)]
    assert [len(n) for n in said] == [1, 0, 0]
    assert len(tracker.feed(E("staging", "load", "warning", "numbers not trustworthy"), 0.0)) == 1


def test_plain_lines_come_every_few_seconds_not_every_second():
    clock, out = Clock(), io.StringIO()
    display = PlainDisplay(out, interval=5.0, clock=clock, wall=lambda: 0.0)
    for event in load_events(60, errors_at=42):
        clock.t += 1 if event.kind == "item" else 0
        display(event)
    lines = out.getvalue().splitlines()
    status = [line for line in lines if "left, ETA" in line]
    assert 10 <= len(status) <= 13, lines                     # ~60 s / 5 s, not 60
    assert all(line.startswith("[staging] load      ") for line in lines)
    assert any("sustained 2/2  0:46/1:00  77%  0:14 left, ETA" in line for line in status), status
    assert status[-1].endswith("1 error (0.02%)")
    assert lines[-1] == "[staging] load      passed in 1:00 — 6,000 requests, 1 error (0.02%)"
    assert sum("phase" in line for line in lines) == 4        # each phase starts and ends


def test_long_loads_report_less_often():
    clock, out = Clock(), io.StringIO()
    display = PlainDisplay(out, interval=5.0, clock=clock)
    display(E("prod", "load", "stage-start", ""))
    display(E("prod", "load", "info", "soak", {"phases": [{"name": "soak", "duration_s": 3600, "rate": 10}]},
              done=0, total=3600, unit="s"))
    for s in range(600):
        clock.t += 1
        display(E("prod", "load", "item", "", {"second": s, "requests": 10, "errors": 0, "rps": 10.0},
                  done=s + 1, total=3600, unit="s"))
    assert sum("left, ETA" in line for line in out.getvalue().splitlines()) == 20     # every 30 s


def test_quiet_prints_nothing_and_plain_is_chosen_for_a_pipe(monkeypatch):
    monkeypatch.delenv("PERFCAMPAIGN_PROGRESS", raising=False)
    assert isinstance(display_for(quiet=True), QuietDisplay)
    assert isinstance(display_for(stream=io.StringIO()), PlainDisplay)
    monkeypatch.setenv("PERFCAMPAIGN_PROGRESS", "live")
    assert isinstance(display_for(stream=io.StringIO()), LiveDisplay)
    monkeypatch.setenv("PERFCAMPAIGN_PROGRESS", "off")
    assert isinstance(display_for(stream=io.StringIO()), QuietDisplay)


FEED = """
import sys, time
from tasks.base import ProgressEvent as E
from flows.progress.display import display_for
from tests.flows.test_progress import load_events
display = display_for()
print("display:", type(display).__name__, file=sys.stderr, flush=True)
for i, event in enumerate(load_events(12)):
    display(event)
    time.sleep(0.06)
display.close()
"""


def run_in_pty(code: str, columns: int = 150) -> str:
    """Run ``code`` with stdin/stdout/stderr on a real pseudo-terminal; everything it drew."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "40", "TERM": "xterm-256color"}
    env.pop("PERFCAMPAIGN_PROGRESS", None)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=follower, stdout=follower, stderr=follower, cwd=ROOT,
                            env=env, close_fds=True)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_the_bars_are_redrawn_in_place():
    drawn = run_in_pty(FEED)
    assert "display: LiveDisplay" in drawn
    assert "\x1b[2K" in drawn and "\r" in drawn                       # erase the line, redraw it
    assert "━" in drawn                                               # the bar
    assert "[staging] load" in drawn and ("warm-up 1/2" in drawn or "sustained 2/2" in drawn)
    assert "phase 2/2 sustained: 50 iterations/s" in drawn
    assert "req/s (target 100)" in drawn and "left, ETA" in drawn
    # redrawn in place: the status is drawn many times, and every drawing is erased (ESC[2K) before
    # the terminal moves to a new line, so what scrolls up is the notes, never a pile of bars
    assert drawn.count("left, ETA") >= 5
    for line in drawn.split("\n"):
        if "left, ETA" in line:
            assert "\x1b[2K" in line[line.rindex("left, ETA"):], repr(line[-300:])
    assert "phase 1/2 warm-up done" in drawn and "passed in" in drawn


def test_on_a_pipe_the_same_run_is_plain_lines():
    env = {**os.environ, "PERFCAMPAIGN_PROGRESS_INTERVAL": "0.2"}
    env.pop("PERFCAMPAIGN_PROGRESS", None)
    proc = subprocess.run([sys.executable, "-c", FEED], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert "display: PlainDisplay" in proc.stderr
    assert "\x1b[" not in proc.stderr                                 # no escape codes in a log file
    lines = proc.stderr.splitlines()[1:]
    assert all(line.startswith("[staging] load") for line in lines), lines
    assert any("warm-up 1/2" in line and "left, ETA" in line for line in lines), lines
    assert any("phase 2/2 sustained: 50 iterations/s" in line for line in lines)


def test_units_are_said_one_way():
    assert [fmt_duration(x) for x in (0.25, 3.14, 42, 125, 3725)] == ["250 ms", "3.1 s", "42 s", "2:05", "1:02:05"]
    assert [fmt_clock(x) for x in (7, 750, 3725)] == ["0:07", "12:30", "1:02:05"]


# -- the k6-style summary ---------------------------------------------------------------------------

def test_the_summary_reads_like_k6_per_environment():
    doc = RunDocument.from_json(json.loads((HERE / "summary-doc.json").read_text()))
    expected = (HERE / "expected-summary.txt").read_text()
    assert summary_text(doc) + "\n" == expected, summary_text(doc)
    styles = dict(summary_lines(doc))
    assert any(style == "red" for style in styles.values()) and any(style == "green" for style in styles.values())


class Logs:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []

    def log(self, level: int, fmt: str, *args) -> None:
        self.lines.append((level, fmt % args))

    def info(self, fmt: str, *args) -> None:
        self.log(20, fmt, *args)

    def warning(self, fmt: str, *args) -> None:
        self.log(30, fmt, *args)


def test_the_flow_runs_bar_only_moves_forward_and_its_logs_say_each_phase():
    from flows.progress.flowrun import FlowProgress

    clock, logs = Clock(), Logs()
    progress = FlowProgress(logs, "shop-api-progress", {"staging": ["smoke", "load"]}, endpoints=4, clock=clock,
                            log_every=20.0)
    seen = []
    progress(E("staging", "smoke", "stage-start", ""))
    for i in range(4):
        progress(E("staging", "smoke", "item", f"e{i}: 200 in 3 ms ok", {"endpoint": f"e{i}", "passed": True}))
        seen.append(progress.fraction())
    progress(E("staging", "smoke", "stage-end", "smoke passed", {"status": "passed"}))
    seen.append(progress.fraction())
    for event in load_events(60):
        clock.t += 1 if event.kind == "item" else 0
        progress(event)
        seen.append(progress.fraction())
    assert seen == sorted(seen) and seen[0] > 0 and seen[-1] == 1.0
    assert abs(seen[4] - 1 / 7) < 1e-9                    # smoke is 1 of 7 weights, load the other 6
    texts = [text for _, text in logs.lines]
    assert "[staging] load: phase 1/2 warm-up: 10→50 iterations/s × 2 requests for 10 s" in texts
    assert any(t.startswith("[staging] load: phase 2/2 sustained done: 5,000 requests") for t in texts)
    assert sum("left, ETA" in t for t in texts) == 2          # a status line every 20 s of a long phase
    assert texts[-1] == "[staging] load: passed in 1:00 — 6,000 requests, 0 errors"
    assert progress.description(final="shop-api: passed").startswith("**shop-api: passed**\n\ndone: ✓ staging smoke")


def test_readiness_and_smoke_count_endpoints_with_an_eta():
    clock, out = Clock(), io.StringIO()
    display = PlainDisplay(out, interval=1.0, clock=clock, wall=lambda: 0.0)
    display(E("dev", "readiness", "stage-start", "readiness started", total=10, unit="endpoints"))
    for i in range(10):
        clock.t += 0.6
        display(E("dev", "readiness", "item", f"e{i}: {'mock' if i == 3 else 'real'} (90%)",
                  {"endpoint": f"e{i}", "verdict": "mock" if i == 3 else "real"}))
    lines = out.getvalue().splitlines()
    assert "[dev] readiness 4/10 endpoints (real 3, mock 1)  0:02  40%  0:03 left, ETA" in "\n".join(lines)
