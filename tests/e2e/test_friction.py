"""The pure parts: Web Vitals bands, endpoint matching, friction detection and backlog items."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks.e2e.backlog import backlog_items
from tasks.e2e.friction import EndpointMatcher, FrictionOptions, detect, placeholder_reason, route, stable_text
from tasks.e2e.session import ConsoleEntry, NetworkCall, PageText, Screenshot, Session, StepRecord
from tasks.e2e.vitals import rate

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("metric, value, rating", [
    ("LCP", 2500, "good"), ("LCP", 2501, "needs-improvement"), ("LCP", 4000, "needs-improvement"),
    ("LCP", 4001, "poor"), ("CLS", 0.1, "good"), ("CLS", 0.25, "needs-improvement"), ("CLS", 0.26, "poor"),
    ("FCP", 1800, "good"), ("FCP", 3001, "poor"), ("TTFB", 800, "good"), ("TTFB", 1801, "poor"),
    ("INP", 200, "good"), ("INP", 500, "needs-improvement"), ("INP", 501, "poor"),
    ("FID", 100, "good"), ("FID", 300, "needs-improvement"), ("FID", 301, "poor"),
])
def test_web_vitals_bands_are_web_devs(metric, value, rating):
    assert rate(metric, value) == rating


def test_endpoints_match_by_method_and_template_literal_paths_first():
    matcher = EndpointMatcher([("product", "GET", "/api/products/{id}"), ("list", "GET", "/api/products?limit=20"),
                               ("featured", "GET", "/api/products/featured"), ("order", "POST", "/api/orders")])
    assert matcher.match("GET", "http://h/api/products?limit=5") == ("list", "/api/products")
    assert matcher.match("GET", "http://h/api/products/17") == ("product", "/api/products/{id}")
    assert matcher.match("GET", "http://h/api/products/featured") == ("featured", "/api/products/featured")
    assert matcher.match("GET", "http://h/api/orders") is None


def test_keys_do_not_change_from_night_to_night():
    assert route("GET", "http://127.0.0.1:5000/api/orders/123?x=1") == "GET /api/orders/{id}"
    assert route("get", "http://h/api/students/3fa85f64-5717-4562-b3fc-2c963f66afa6") == "GET /api/students/{id}"
    assert route("GET", "http://h/api/products/9", "/api/products/{id}") == "GET /api/products/{id}"
    assert stable_text("Order #123 failed at http://127.0.0.1:4321/api  ") == "Order #N failed at /api"


@pytest.mark.parametrize("text, hit", [
    ("Lorem ipsum dolor sit amet", True), ("string", True), ("user@example.com", True),
    ("consectetur adipiscing elit sed eiusmod", True), ("Name", False), ("test1@example.com", False),
    ("Welcome, Ada", False), ("Enter a string to search", False),
])
def test_placeholder_texts(text, hit):
    assert (placeholder_reason(text) is not None) is hit


def session_with(**parts) -> Session:
    session = Session("shop", "browser", T0, T0)
    for name, value in parts.items():
        setattr(session, name, value)
    return session


def call(seq, url, status=200, ms=20.0, kind="fetch", **kw) -> NetworkCall:
    return NetworkCall(seq=seq, method=kw.pop("method", "GET"), url=url, resource_type=kind, started_at=T0,
                       status_code=status, duration_ms=ms, step_index=kw.pop("step", 1),
                       page_url="http://h/app/", **kw)


def test_detects_each_kind_once_with_its_evidence():
    session = session_with(
        calls=[call(1, "http://h/app/", kind="document"),
               call(2, "http://h/notifications/unread-count", 404),
               call(3, "http://h/notifications/unread-count", 404, step=2),
               call(4, "http://h/api/report", ms=2500.0),
               call(5, "http://h/api/students", body=b'[{"email": "user@example.com", "name": "string"}]',
                    content_type="application/json"),
               call(6, "http://h/notifications", endpoint="notifications", template="/notifications"),
               call(7, "http://h/api/boom", 500),
               call(8, "http://cdn.other/x.js", 404, kind="script", from_app=False),
               call(9, "http://h/api/optional", 404, kind="api", expected_status=(200, 404))],
        steps=[StepRecord(2, "click #pay", "click", "#pay", T0, outcome="failed", failures=["Timeout"],
                          blocker={"reason": "the element stays disabled", "enabled": False})],
        texts=[PageText("error_message", "Could not load notifications", "p#err", "http://h/app/", 1),
               PageText("placeholder", "Lorem ipsum dolor sit amet", "li", "http://h/app/", 1)],
        console=[ConsoleEntry("console", "error", "Failed to load resource: the server responded with a status "
                              "of 404", "http://h/notifications/unread-count", "http://h/app/", 1),
                 ConsoleEntry("pageerror", "error", "TypeError: x is undefined", None, "http://h/app/", 1),
                 ConsoleEntry("console", "error", "noisy third-party widget", None, "http://h/app/", 1)],
        screenshots=[Screenshot(1, "start", "/s/00-start.png", 0, "http://h/app/", T0),
                     Screenshot(2, "failed", "/s/02-failed.png", 2, "http://h/app/", T0)])
    points = detect(session, {"notifications": "mock"},
                    FrictionOptions(slow_threshold_ms=2000, ignore=("console_error:/app/:noisy",)))
    keys = {p.key: p for p in points}
    assert set(keys) == {
        "missing_api:GET /notifications/unread-count", "slow_api:GET /api/report", "mock_data:GET /api/students",
        "mock_data:GET /notifications", "server_error:GET /api/boom", "ui_blocker:shop:click #pay",
        "error_message:/app/:Could not load notifications", "mock_data:page /app/",
        "console_error:/app/:TypeError: x is undefined"}
    missing = keys["missing_api:GET /notifications/unread-count"]
    assert missing.severity == "high" and missing.evidence["occurrences"] == 2
    assert missing.screenshot == "/s/02-failed.png"
    assert keys["error_message:/app/:Could not load notifications"].evidence["caused_by"] == missing.key
    assert keys["ui_blocker:shop:click #pay"].evidence["reason"] == "the element stays disabled"
    assert keys["mock_data:GET /notifications"].evidence["readiness"] == "mock"
    assert any("user@example.com" in r for r in keys["mock_data:GET /api/students"].evidence["placeholders"])
    assert keys["console_error:/app/:TypeError: x is undefined"].severity == "medium"

    items = {i["key"]: i for i in backlog_items(points)}
    assert "e2e:error_message:/app/:Could not load notifications" not in items  # a symptom of the 404
    assert items["e2e:missing_api:GET /notifications/unread-count"]["evidence"]["user_sees"] == [
        "Could not load notifications"]
    assert (items["e2e:missing_api:GET /notifications/unread-count"]["priority"],
            items["e2e:missing_api:GET /notifications/unread-count"]["effort"]) == ("high", "3-5 days")
    assert (items["e2e:slow_api:GET /api/report"]["priority"], items["e2e:slow_api:GET /api/report"]["effort"]) \
        == ("medium", "2-3 days")
    assert (items["e2e:mock_data:GET /notifications"]["priority"],
            items["e2e:mock_data:GET /notifications"]["effort"]) == ("medium", "1-2 days")
    assert (items["e2e:ui_blocker:shop:click #pay"]["priority"],
            items["e2e:ui_blocker:shop:click #pay"]["effort"]) == ("high", "1 day")
    assert [i["priority"] for i in items.values()] == sorted(
        (i["priority"] for i in items.values()), key=["high", "medium", "low"].index)


def test_the_same_gap_in_two_journeys_is_one_item_naming_both():
    a = session_with(calls=[call(1, "http://h/x", 404)])
    b = session_with(calls=[call(1, "http://h/x", 404)])
    b.journey = "other"
    items = backlog_items(detect(a) + detect(b))
    assert len(items) == 1 and items[0]["evidence"]["journeys"] == ["shop", "other"]
    assert items[0]["evidence"]["occurrences"] == 2
