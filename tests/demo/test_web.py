"""The static front end used by browser journeys."""


def test_shop_page(client):
    r = client.get("/app/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    for marker in ('id="sign-in-form"', 'id="email"', 'id="password"', 'id="sign-in-button"',
                   'id="product-list"', 'id="wallet-balance"', 'id="notifications-error"',
                   'data-testid="notifications-badge"', "/notifications/unread-count", "/api/products",
                   "/wallet/balance", "Could not load notifications"):
        assert marker in html, marker
    assert "<script src=" not in html and "cdn" not in html.lower()


def test_courses_page(client):
    html = client.get("/app/courses.html").text
    for marker in ('id="course-list"', '"enroll-button"', "/api/lms/courses", "/api/lms/enrollments"):
        assert marker in html, marker


def test_app_without_slash_redirects(client):
    r = client.get("/app")
    assert r.status_code in (301, 307) and r.headers["location"].endswith("/app/")
