"""Sessions and friction points → warehouse rows (tables of ``0004_e2e.sql``) and the run's JSON.

Column names are the tables' columns; the flow adds ``run_id``. Response bodies kept for mock
detection never leave memory, and captured variables are listed by name only (they hold tokens).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tasks.e2e.friction import FrictionPoint
from tasks.e2e.session import Session
from tasks.e2e.vitals import rate, unit

TABLES = ("journeys", "journey_steps", "network_calls", "web_vitals", "friction_points", "screenshots")


def vitals_doc(session: Session) -> list[dict[str, Any]]:
    return [{"page": p.seq, "url": p.url, "step_index": p.step_index,
             "metrics": {m: {"value": v, "unit": unit(m), "rating": rate(m, v)} for m, v in p.metrics.items()}}
            for p in session.vitals]


def poor_vitals(session: Session) -> list[str]:
    return [f"{m} {v:g}{'' if m == 'CLS' else ' ms'} on {p.url}"
            for p in session.vitals for m, v in p.metrics.items() if rate(m, v) == "poor"]


def journey_doc(session: Session, points: list[FrictionPoint]) -> dict[str, Any]:
    """One journey as the run's JSON shows it: steps, Web Vitals, friction points, screenshots."""
    calls = session.calls
    return {
        "name": session.journey, "kind": session.kind, "status": session.status,
        "duration_ms": session.duration_ms, "error": session.first_failure() or None,
        "steps": [s.to_dict() for s in session.steps],
        "web_vitals": vitals_doc(session),
        "friction": [p.to_dict() for p in points],
        "screenshots": [s.path for s in session.screenshots],
        "network": {"requests": len(calls), "failed": sum(bool(c.failure) for c in calls),
                    "blocked": sum(c.blocked for c in calls),
                    "blocked_hosts": sorted({urlsplit(c.url).hostname or "" for c in calls if c.blocked}),
                    "errors": sum(bool(c.status_code and c.status_code >= 400) for c in calls),
                    # browser journeys: what the egress guard relayed, and cut at its caps or deadline
                    **({"egress": session.egress} if session.egress is not None else {})},
        "console_errors": sum(e.level == "error" for e in session.console),
    }


def endpoint_docs(sessions: list[Session], points: list[FrictionPoint]) -> list[dict[str, Any]]:
    """Per campaign endpoint the journeys reached: calls, failures, slowest, statuses, friction."""
    out: dict[str, dict[str, Any]] = {}
    for session in sessions:
        for call in session.calls:
            if not call.endpoint:
                continue
            doc = out.setdefault(call.endpoint, {"name": call.endpoint, "journeys": [], "calls": 0, "failed": 0,
                                                 "max_ms": None, "status_codes": {}, "friction": []})
            if session.journey not in doc["journeys"]:
                doc["journeys"].append(session.journey)
            doc["calls"] += 1
            bad = bool(call.failure) or bool(call.status_code and call.status_code >= 400
                                             and call.status_code not in call.expected_status)
            doc["failed"] += bad
            if call.duration_ms is not None:
                doc["max_ms"] = max(doc["max_ms"] or 0.0, call.duration_ms)
            if call.status_code:
                code = str(call.status_code)
                doc["status_codes"][code] = doc["status_codes"].get(code, 0) + 1
    for point in points:
        if point.endpoint in out and point.type not in out[point.endpoint]["friction"]:
            out[point.endpoint]["friction"].append(point.type)
    return list(out.values())


def rows(sessions: list[Session], points_by_journey: dict[str, list[FrictionPoint]],
         detected_at: datetime) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for s in sessions:
        points = points_by_journey.get(s.journey, [])
        out["journeys"].append({
            "journey": s.journey, "kind": s.kind, "status": s.status, "started_at": s.started_at,
            "finished_at": s.finished_at or s.started_at, "duration_ms": float(s.duration_ms),
            "steps": len(s.steps), "failed_steps": sum(st.outcome == "failed" for st in s.steps),
            "friction_points": len(points), "error": s.first_failure() or None})
        for st in s.steps:
            out["journey_steps"].append({
                "journey": s.journey, "step_index": st.index, "name": st.name, "action": st.action,
                "target": st.target, "endpoint": st.endpoint, "outcome": st.outcome, "gating": st.gating,
                "started_at": st.started_at, "duration_ms": float(st.duration_ms), "status_code": st.status_code,
                "url": st.url, "failures": st.failures, "captured": st.captured, "reason": st.reason,
                "screenshot": st.screenshot})
        for c in s.calls:
            out["network_calls"].append({
                "journey": s.journey, "seq": c.seq, "step_index": c.step_index, "method": c.method, "url": c.url,
                "resource_type": c.resource_type, "endpoint": c.endpoint, "status_code": c.status_code,
                "duration_ms": None if c.duration_ms is None else float(c.duration_ms),
                "ttfb_ms": None if c.ttfb_ms is None else float(c.ttfb_ms), "started_at": c.started_at,
                "failure": c.failure, "blocked": c.blocked, "from_app": c.from_app, "page_url": c.page_url})
        for p in s.vitals:
            for metric, value in p.metrics.items():
                out["web_vitals"].append({
                    "journey": s.journey, "page_seq": p.seq, "page_url": p.url, "metric": metric,
                    "value": float(value), "unit": unit(metric), "rating": rate(metric, value),
                    "step_index": p.step_index, "measured_at": p.measured_at})
        for point in points:
            out["friction_points"].append({
                "journey": s.journey, "seq": point.seq, "type": point.type, "severity": point.severity,
                "title": point.title, "key": point.key, "target": point.target, "endpoint": point.endpoint,
                "page_url": point.page_url, "step_index": point.step_index, "evidence": point.evidence,
                "screenshot": point.screenshot, "detected_at": detected_at})
        for shot in s.screenshots:
            out["screenshots"].append({
                "journey": s.journey, "seq": shot.seq, "step_index": shot.step_index, "label": shot.label,
                "path": shot.path, "page_url": shot.page_url, "taken_at": shot.taken_at, "bytes": shot.bytes})
    return out
