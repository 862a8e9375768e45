"""The report's chaos table is golden-tested: human-facing output changes only on purpose.

Regenerate after an intended change with ``PERFCAMPAIGN_UPDATE_GOLDEN=1 pytest tests/chaos/test_report.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from tasks.chaos.report import markdown
from tasks.chaos.score import classify, degradation, resilience_score

GOLDEN = Path(__file__).parent / "golden" / "report.md"


def phase(p50, p95, error_rate):
    return {"requests": 60, "errors": round(60 * error_rate), "error_rate": error_rate, "p50_ms": p50, "p95_ms": p95}


SUMMARY = {
    "score": 61.4, "score_formula": "100 × (0.40·A + 0.20·L + 0.25·R + 0.15·G)",
    "experiments": [
        {"name": "latency-400ms", "status": "passed", "dry_run": False, "recovered": True, "recovery_time_s": 0.0,
         "recovery_bound_s": 10, "time_to_detect_s": 1.002, "degradation": "none", "score": 93.7,
         "faults": [{"type": "latency", "fraction": 0.5, "params": {"latency_ms": 400.0, "jitter_ms": 50.0,
                                                                    "direction": "downstream"}}],
         "impact": {"fault": phase(370.1, 440.2, 0.0), "delta_p50_ms": 369.2, "delta_p95_ms": 434.9},
         "steady_state_before": {"holds": True, "detail": "browse: holds"}, "rollbacks": []},
        {"name": "outage-2s", "status": "failed", "dry_run": False, "recovered": False, "recovery_time_s": None,
         "recovery_bound_s": 10, "time_to_detect_s": 0.998, "degradation": "fast-failures", "score": 29.1,
         "faults": [{"type": "outage", "fraction": 1.0, "params": {}}],
         "impact": {"fault": phase(None, None, 1.0), "delta_p50_ms": None, "delta_p95_ms": None},
         "steady_state_before": {"holds": True, "detail": "browse: holds"},
         "rollbacks": [{"name": "restart the service", "status": "failed", "error": "exit code 1 (ok: [0])"}]},
        {"name": "dependency-slow", "status": "failed", "dry_run": False, "recovered": None, "score": None,
         "recovery_bound_s": 30, "time_to_detect_s": None, "faults": [], "impact": {},
         "watchdog": "watchdog: p95 4100 ms > 3000 ms for 3 s in a row",
         "steady_state_before": {"holds": False, "detail": "browse: p95 512.0 ms > 300 ms"}, "rollbacks": []},
    ],
}


def test_the_chaos_table_matches_the_golden_file():
    text = markdown(SUMMARY, "staging")
    if os.environ.get("PERFCAMPAIGN_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_a_refused_or_skipped_stage_says_why():
    assert markdown({"reason": "chaos never runs in a production environment"}, "production") == (
        "### Chaos — production\n\nchaos never runs in a production environment\n")


def test_the_score_formula_and_the_degradation_classes():
    classes = classify({"status_5xx": 8, "reset": 2}, {"timeout": 0})
    assert classes == {"errors": 8, "connection": 2, "timeouts": 0, "wrong_answers": 0, "other": 0}
    assert degradation(classes) == "fast-failures"
    assert degradation(classify({"status_5xx": 10})) == "graceful"
    assert degradation(classify({"timeout": 6, "status_5xx": 4})) == "timeouts"
    assert degradation(classify({"expect": 1, "status_5xx": 99})) == "wrong-answers"
    assert degradation(classify({})) == "none"
    # a fault the service absorbs entirely, back at once: 100
    score, parts = resilience_score(fault_error_rate=0.0, baseline_p95_ms=5.0, fault_p95_ms=200.0,
                                    tolerance_p95_ms=300.0, recovered=True, recovery_time_s=0.0,
                                    recovery_bound_s=10.0, classes=classify({}))
    assert score == 100.0 and parts.latency == 1.0
    # everything failed fast with 503s, nothing answered in time, back after half the bound
    score, parts = resilience_score(fault_error_rate=1.0, baseline_p95_ms=5.0, fault_p95_ms=None,
                                    recovered=True, recovery_time_s=5.0, recovery_bound_s=10.0,
                                    classes=classify({"status_5xx": 10}))
    assert (score, parts.as_dict()) == (27.5, {"availability": 0.0, "latency": 0.0, "recovery": 0.5, "graceful": 1.0})
    # not recovered: R = 0
    score, _ = resilience_score(fault_error_rate=0.5, baseline_p95_ms=10.0, fault_p95_ms=20.0, recovered=False,
                                recovery_time_s=None, recovery_bound_s=10.0, classes=classify({"timeout": 5}))
    assert score == 30.0
