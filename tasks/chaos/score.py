"""The resilience score of one experiment, 0–100, and how the service degraded.

::

    score = 100 × (0.40·A + 0.20·L + 0.25·R + 0.15·G)        rounded to 0.1

    A  availability under the fault   1 − error rate of the requests sent while the method ran
    L  latency kept                   min(1, reference p95 / fault p95), the reference being the
                                      larger of the baseline p95 and the hypothesis' p95
                                      tolerance (a fault the tolerances absorb costs nothing);
                                      0 when nothing answered
    R  recovery                       1 − recovery time / recovery bound when the steady state
                                      came back within the bound; 0 when it did not, or when the
                                      watchdog stopped the experiment before it could
    G  graceful degradation           (explicit errors + ½ · connection errors) / failures, over
                                      the fault and recovery windows; 1 when nothing failed

Failures are classed from the load engine's error kinds (``tasks/load/errors.py``):

- *errors* — the service answered with an explicit 4xx/5xx: the best way to fail,
- *connection* — refused, reset, closed: fast, but the client learns little,
- *timeouts* — no answer within the request timeout (or past ``max_latency_ms``): the worst for
  callers, who hold resources while they wait,
- *wrong answers* — a 2xx (or 3xx) whose body, fields or status are not what the endpoint
  expects: silent corruption, never graceful.

:func:`degradation` names the pattern: ``none`` (nothing failed), ``graceful`` (≥ 90 % explicit
errors), ``fast-failures`` (≥ 90 % explicit or connection errors), ``timeouts`` (≥ 50 %
timeouts), ``wrong-answers`` (any) or ``mixed``. Seed 002 asks for a score above 80.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

WEIGHTS = {"availability": 0.40, "latency": 0.20, "recovery": 0.25, "graceful": 0.15}
CLASSES = ("errors", "connection", "timeouts", "wrong_answers", "other")
_KIND_CLASS = {
    "status_4xx": "errors", "status_5xx": "errors",
    "connect_refused": "connection", "connect_error": "connection", "reset": "connection", "closed": "connection",
    "protocol": "connection", "dns": "connection", "tls": "connection",
    "timeout": "timeouts", "connect_timeout": "timeouts", "slow": "timeouts",
    "expect": "wrong_answers", "capture": "wrong_answers", "status_other": "wrong_answers",
}


def classify(*errors_by_kind: dict[str, int]) -> dict[str, int]:
    out = dict.fromkeys(CLASSES, 0)
    for kinds in errors_by_kind:
        for kind, n in (kinds or {}).items():
            out[_KIND_CLASS.get(kind, "other")] += int(n)
    return out


def degradation(classes: dict[str, int]) -> str:
    total = sum(classes.values())
    if total == 0:
        return "none"
    if classes["wrong_answers"]:
        return "wrong-answers"
    if classes["errors"] >= 0.9 * total:
        return "graceful"
    if classes["errors"] + classes["connection"] >= 0.9 * total:
        return "fast-failures"
    if classes["timeouts"] >= 0.5 * total:
        return "timeouts"
    return "mixed"


@dataclass
class ScoreParts:
    availability: float
    latency: float
    recovery: float
    graceful: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}


def resilience_score(*, fault_error_rate: float | None, baseline_p95_ms: float | None, fault_p95_ms: float | None,
                     tolerance_p95_ms: float | None = None, recovered: bool | None, recovery_time_s: float | None, recovery_bound_s: float,
                     classes: dict[str, int]) -> tuple[float, ScoreParts]:
    availability = 1.0 - (fault_error_rate if fault_error_rate is not None else 1.0)
    if fault_p95_ms is None or fault_p95_ms <= 0:
        latency = 0.0
    else:
        reference = max(baseline_p95_ms or 0.0, tolerance_p95_ms or 0.0)
        latency = min(1.0, reference / fault_p95_ms) if reference > 0 else 1.0
    if recovered and recovery_time_s is not None and recovery_bound_s > 0:
        recovery = max(0.0, 1.0 - recovery_time_s / recovery_bound_s)
    else:
        recovery = 0.0
    failures = sum(classes.values())
    graceful = 1.0 if failures == 0 else (classes["errors"] + 0.5 * classes["connection"]) / failures
    parts = ScoreParts(max(availability, 0.0), latency, recovery, graceful)
    score = 100.0 * sum(WEIGHTS[k] * v for k, v in asdict(parts).items())
    return round(score, 1), parts


def formula() -> dict[str, Any]:
    return {"score": "100 × (0.40·A + 0.20·L + 0.25·R + 0.15·G)", "weights": dict(WEIGHTS)}
