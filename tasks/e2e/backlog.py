"""Friction points → backlog items, with seed 000's priorities and effort estimates. Pure.

Seed 000's table ("Backlog gap tracking"):

=============  ========  ==========
kind           priority  effort
=============  ========  ==========
missing_api    high      3-5 days
slow_api       medium    2-3 days
mock_data      medium    1-2 days
ui_blocker     high      1 day
=============  ========  ==========

The seed names no estimate for the other kinds; ours (marked so in the item's evidence) are
server_error high / 1-2 days, error_message medium / 1 day, console_error low / 0.5 day.

Keys start with :data:`BACKLOG_SCOPE` (``e2e:``): the flow's ``sync_backlog`` refreshes an item seen
again (first seen kept, last seen moved, times seen counted) and closes the open ``e2e:`` items
this run did not see. The same gap found by several journeys is one item listing them all. An
error message or console error caused by a failed call is a symptom of that call's item (listed
under ``user_sees``), not an item of its own. Readiness already files every mocked endpoint
(``readiness:mock:<name>``); this stage files the mocks a journey actually reached, as what the
user got.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tasks.e2e.friction import SEVERITY_RANK, FrictionPoint

BACKLOG_SCOPE = "e2e:"

#: kind → (priority, effort, from the seed?)
ESTIMATES: dict[str, tuple[str, str, bool]] = {
    "missing_api": ("high", "3-5 days", True),
    "slow_api": ("medium", "2-3 days", True),
    "mock_data": ("medium", "1-2 days", True),
    "ui_blocker": ("high", "1 day", True),
    "server_error": ("high", "1-2 days", False),
    "error_message": ("medium", "1 day", False),
    "console_error": ("low", "0.5 day", False),
}
PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


def backlog_items(points: Iterable[FrictionPoint]) -> list[dict[str, Any]]:
    """One item per friction key (``e2e:<type>:<what>``), highest priority first."""
    points = list(points)
    by_key: dict[str, dict[str, Any]] = {}
    symptoms: list[FrictionPoint] = []
    for point in points:
        if point.evidence.get("caused_by"):
            symptoms.append(point)
            continue
        key = BACKLOG_SCOPE + point.key
        priority, effort, seeded = ESTIMATES[point.type]
        item = by_key.get(key)
        if item is None:
            item = by_key[key] = {
                "key": key, "kind": point.type, "title": point.title, "priority": priority, "effort": effort,
                "endpoint": point.endpoint or point.target,
                "evidence": {"severity": point.severity, "journeys": [], "pages": [], "screenshots": [],
                             "occurrences": 0, "detail": point.evidence,
                             "estimate": "seed 000" if seeded else "perfcampaign default"},
            }
        evidence = item["evidence"]
        if SEVERITY_RANK[point.severity] < SEVERITY_RANK[evidence["severity"]]:
            evidence["severity"] = point.severity
        evidence["occurrences"] += point.evidence.get("occurrences", 1)
        for name, value in (("journeys", point.journey), ("pages", point.page_url), ("screenshots", point.screenshot)):
            if value and value not in evidence[name]:
                evidence[name].append(value)
    for point in symptoms:
        cause = by_key.get(BACKLOG_SCOPE + point.evidence["caused_by"])
        if cause is None:  # its cause was not filed: the symptom stands on its own
            items = backlog_items([_without_cause(point)])
            by_key.setdefault(items[0]["key"], items[0])
            continue
        seen = cause["evidence"].setdefault("user_sees", [])
        text = point.evidence.get("text", point.title)
        if text not in seen:
            seen.append(text)
    return sorted(by_key.values(), key=lambda i: (PRIORITY_RANK[i["priority"]], i["kind"], i["key"]))


def _without_cause(point: FrictionPoint) -> FrictionPoint:
    evidence = {k: v for k, v in point.evidence.items() if k != "caused_by"}
    return FrictionPoint(journey=point.journey, type=point.type, severity=point.severity, title=point.title,
                         key=point.key, evidence=evidence, screenshot=point.screenshot, page_url=point.page_url,
                         endpoint=point.endpoint, target=point.target, step_index=point.step_index, seq=point.seq)
