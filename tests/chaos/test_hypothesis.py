"""The hypothesis per second and the watchdog, on hand-made per-second rows (pure)."""

from __future__ import annotations

from campaigns.chaos import Safeguards, Tolerances
from tasks.chaos.hypothesis import check_second, first_hold, first_violation
from tasks.chaos.safeguards import Watchdog

TOL = Tolerances(p95_ms=300, error_rate=0.01)


def row(requests=20, errors=0, p95=10.0, p50=5.0):
    return {"second": 0, "requests": requests, "errors": errors, "p95_ms": p95, "p50_ms": p50, "p99_ms": p95}


def test_a_second_holds_when_every_tolerance_does_and_nothing_answered_never_holds():
    assert check_second(TOL, row()).passed
    assert check_second(TOL, row(p95=301)).failures == ["p95 301.0 ms > 300 ms"]
    assert check_second(TOL, row(errors=1)).failures == ["error rate 5.0% > 1.0%"]
    assert check_second(TOL, row(requests=0, p95=None)).failures == ["nothing answered"]
    assert check_second(Tolerances(mean_ms=1), row()).passed  # mean is a whole-probe tolerance


def test_first_violation_and_first_hold():
    rows = [row(), row(p95=500), row(errors=20, p95=None), row(errors=2), row(), row(), row()]
    assert first_violation(TOL, rows) == 1
    assert first_hold(TOL, rows[1:], 2) == 3
    assert first_hold(TOL, rows[1:], 4) is None


def test_the_watchdog_trips_after_for_seconds_in_a_row_once():
    dog = Watchdog(Safeguards(max_error_rate=0.5, max_p95_ms=1000, **{"for": 2}))
    assert dog.feed(row(errors=20, p95=None)) is None
    assert dog.feed(row()) is None  # the streak is broken
    assert dog.feed(row(p95=2000)) is None
    reason = dog.feed(row(requests=0, p95=None))
    assert reason == "watchdog: nothing answered (error rate counted 100 % > 50%) for 2 s in a row"
    assert dog.tripped and dog.feed(row(errors=20)) is None
    assert not Watchdog(None).armed and Watchdog(None).feed(row(errors=20)) is None
