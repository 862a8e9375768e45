"""The real (SQLite-backed) endpoints: answers depend on input and writes persist."""

from .conftest import PASSWORD, sign_in


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["db"] == "ok" and body["uptime_s"] >= 0


def test_sign_in_returns_a_token_checked_by_profile(client):
    r = client.post("/auth/sign-in", json={"email": "test2@example.com", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["user_id"] == 2 and body["expires_in"] == 3600 and len(body["token"]) >= 32
    profile = client.get("/api/profile", headers={"Authorization": f"Bearer {body['token']}"})
    assert profile.status_code == 200
    assert profile.json()["email"] == "test2@example.com" and profile.json()["role"] == "customer"


def test_tokens_are_fresh_per_sign_in(client):
    assert sign_in(client) != sign_in(client)


def test_admin_sign_in(client):
    token = sign_in(client, "admin@example.com", "AdminPassword123!")
    assert client.get("/api/profile", headers={"Authorization": f"Bearer {token}"}).json()["role"] == "admin"


def test_sign_in_bad_credentials_401(client):
    assert client.post("/auth/sign-in", json={"email": "test1@example.com", "password": "wrong"}).status_code == 401
    assert client.post("/auth/sign-in", json={"email": "nobody@example.com", "password": PASSWORD}).status_code == 401
    # the admin password does not open a customer account
    assert client.post("/auth/sign-in",
                       json={"email": "test1@example.com", "password": "AdminPassword123!"}).status_code == 401


def test_sign_in_malformed_body_422(client):
    assert client.post("/auth/sign-in", json={"email": "test1@example.com"}).status_code == 422
    assert client.post("/auth/sign-in", content=b"not json",
                       headers={"Content-Type": "application/json"}).status_code == 422


def test_profile_needs_a_valid_token(client):
    assert client.get("/api/profile").status_code == 401
    assert client.get("/api/profile", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert client.get("/api/profile", headers={"Authorization": "Basic dGVzdDE6eA=="}).status_code == 401


def test_wallet_balance_is_per_user_and_matches_transactions(client):
    for user_id, email in ((1, "test1@example.com"), (3, "test3@example.com")):
        headers = {"Authorization": f"Bearer {sign_in(client, email)}"}
        balance = client.get("/wallet/balance", headers=headers).json()
        assert balance["user_id"] == user_id and balance["currency"] == "USD"
        transactions = client.get("/wallet/transactions?limit=100", headers=headers).json()
        assert len(transactions) == 30
        assert round(sum(t["amount"] for t in transactions), 2) == balance["balance"]


def test_wallet_transactions_limit_and_auth(client, auth):
    r = client.get("/wallet/transactions?limit=5", headers=auth)
    assert r.status_code == 200 and len(r.json()) == 5
    assert client.get("/wallet/transactions").status_code == 401
    assert client.get("/wallet/balance").status_code == 401


def test_products_limit_and_offset_are_honoured(client):
    body = client.get("/api/products?limit=5&offset=10").json()
    assert (body["limit"], body["offset"], body["total"]) == (5, 10, 120)
    assert [p["id"] for p in body["items"]] == [11, 12, 13, 14, 15]
    assert len(client.get("/api/products?limit=37").json()["items"]) == 37
    assert client.get("/api/products?offset=118").json()["items"][-1]["id"] == 120
    assert client.get("/api/products?limit=0").status_code == 422


def test_product_by_id_and_404(client):
    product = client.get("/api/products/3").json()
    assert product["id"] == 3 and product["price"] > 0 and product["stock"] > 0
    assert client.get("/api/products/3").json()["name"] != client.get("/api/products/4").json()["name"]
    r = client.get("/api/products/99999")
    assert r.status_code == 404 and r.json() == {"detail": "product not found"}


def test_order_persists_and_decrements_stock(client, sql):
    stock_before = client.get("/api/products/7").json()["stock"]
    r = client.post("/api/orders", json={"product_id": 7, "qty": 3})
    assert r.status_code == 201
    order = r.json()
    assert r.headers["location"] == f"/api/orders/{order['id']}"
    assert client.get(r.headers["location"]).json() == order
    assert client.get("/api/products/7").json()["stock"] == stock_before - 3
    row = sql.execute("SELECT product_id, qty FROM orders WHERE id = ?", (order["id"],)).fetchone()
    assert tuple(row) == (7, 3)
    second = client.post("/api/orders", json={"product_id": 7, "qty": 1}).json()
    assert second["id"] != order["id"]


def test_order_errors(client):
    assert client.post("/api/orders", json={"product_id": 99999, "qty": 1}).status_code == 404
    assert client.post("/api/orders", json={"product_id": 1, "qty": 0}).status_code == 422
    assert client.post("/api/orders", json={"product_id": 1, "qty": "lots"}).status_code == 422
    assert client.post("/api/orders", json={"product_id": 1, "qty": 1000}).status_code in (201, 409)
    assert client.get("/api/orders/99999").status_code == 404


def test_inventory_filter_and_limit(client):
    items = client.get("/api/retail-ai/inventory?location=CPT-DC1&limit=500").json()
    assert len(items) == 80 and {i["location"] for i in items} == {"CPT-DC1"}
    assert len(client.get("/api/retail-ai/inventory?limit=3").json()) == 3
    assert client.get("/api/retail-ai/inventory?location=NOWHERE").json() == []


def test_inventory_item_by_sku(client):
    item = client.get("/api/retail-ai/inventory/SKU-00007").json()
    assert item["sku"] == "SKU-00007" and item["location"] and item["on_hand"] >= 0
    assert client.get("/api/retail-ai/inventory/SKU-99999").status_code == 404


def test_courses(client):
    courses = client.get("/api/lms/courses?limit=4").json()
    assert [c["id"] for c in courses] == [1, 2, 3, 4]
    assert client.get("/api/lms/courses/2").json()["code"] == courses[1]["code"]
    assert client.get("/api/lms/courses/999").status_code == 404


def test_enrollment_persists_and_duplicates_conflict(client, sql):
    student_id = sql.execute("SELECT id FROM students WHERE id NOT IN"
                             " (SELECT student_id FROM enrollments WHERE course_id = 5) ORDER BY id").fetchone()[0]
    count_before = client.get("/api/lms/courses/5").json()["enrolled_count"]
    r = client.post("/api/lms/enrollments", json={"course_id": 5, "student_id": student_id})
    assert r.status_code == 201
    enrollment = r.json()
    assert r.headers["location"] == f"/api/lms/enrollments/{enrollment['id']}"
    assert client.get(r.headers["location"]).json() == enrollment
    assert client.get("/api/lms/courses/5").json()["enrolled_count"] == count_before + 1
    assert sql.execute("SELECT COUNT(*) FROM enrollments WHERE course_id = 5 AND student_id = ?",
                       (student_id,)).fetchone()[0] == 1
    again = client.post("/api/lms/enrollments", json={"course_id": 5, "student_id": student_id})
    assert again.status_code == 409


def test_enrollment_errors(client):
    assert client.post("/api/lms/enrollments", json={"course_id": 999, "student_id": 1}).status_code == 404
    assert client.post("/api/lms/enrollments", json={"course_id": 1, "student_id": 99999}).status_code == 404
    assert client.post("/api/lms/enrollments", json={"course_id": 1}).status_code == 422
    assert client.get("/api/lms/enrollments/999999").status_code == 404
