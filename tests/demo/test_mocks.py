"""Mocked and missing endpoints behave as their give-aways require."""

import time

EXAMPLE_STUDENT = {
    "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "first_name": "string",
    "last_name": "string",
    "email": "user@example.com",
    "enrolled_at": "2019-08-24T14:15:22Z",
    "status": "active",
}


def _timed_post(client, path, body):
    start = time.perf_counter()
    r = client.post(path, json=body)
    return r, time.perf_counter() - start


def test_predict_demand_is_constant(client):
    answers = []
    for body in ({"sku": "SKU-00001", "horizon_days": 7}, {"sku": "SKU-00300", "horizon_days": 90},
                 {"sku": "NO-SUCH-SKU", "horizon_days": 1}):
        r, elapsed = _timed_post(client, "/api/retail-ai/predict-demand", body)
        assert r.status_code == 200
        assert 0.118 <= elapsed < 0.5  # a fixed 120 ms sleep (asyncio timers may fire a tick early)
        answers.append(r.json())
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["forecast"]


def test_predict_demand_ignores_the_knobs(client, set_knobs):
    set_knobs(latency_ms=400, error_rate=1)
    r, elapsed = _timed_post(client, "/api/retail-ai/predict-demand", {"sku": "SKU-00002", "horizon_days": 3})
    assert r.status_code == 200 and elapsed < 0.4


def test_institutional_students_are_the_static_example(client):
    assert client.get("/api/institutional/students").json() == [EXAMPLE_STUDENT] * 3
    for student_id in ("1", "42", "999999999", "not-even-an-id", EXAMPLE_STUDENT["id"]):
        r = client.get(f"/api/institutional/students/{student_id}")
        assert r.status_code == 200 and r.json() == EXAMPLE_STUDENT


def test_registrations_are_not_persisted(client):
    first = client.post("/api/institutional/registrations", json={"student_id": "s-1", "course_code": "MATH101"})
    second = client.post("/api/institutional/registrations", json={"student_id": "s-2", "course_code": "HIST300"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] == 1
    assert first.json()["status"] == "registered"
    for registration_id in (1, 2):
        assert client.get(f"/api/institutional/registrations/{registration_id}").status_code == 404


def test_notifications_are_the_same_placeholder_list_for_everyone(client, auth):
    from .conftest import sign_in

    other = {"Authorization": f"Bearer {sign_in(client, 'test3@example.com')}"}
    mine = client.get("/notifications", headers=auth)
    assert mine.status_code == 200
    assert mine.json() == client.get("/notifications", headers=other).json() == client.get("/notifications").json()
    assert client.get("/notifications?limit=1").json() == mine.json()
    assert any("Lorem ipsum" in n["body"] for n in mine.json())


def test_responses_do_not_say_they_are_mocks(client):
    for r in (client.get("/notifications"), client.get("/api/institutional/students/7"),
              client.post("/api/institutional/registrations", json={"student_id": "x", "course_code": "y"})):
        text = (r.text + str(dict(r.headers))).lower()
        assert "mock" not in text and "stub" not in text and "fake" not in text


def test_missing_endpoints(client, auth):
    r = client.get("/notifications/unread-count", headers=auth)
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = client.get("/api/lms/courses/1/progress")
    assert r.status_code == 501 and r.json() == {"detail": "not implemented"}
