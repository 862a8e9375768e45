"""Fixtures for the demo service tests: one real server on 127.0.0.1 for the session.

The service runs in-process (uvicorn in a background thread, uvloop + httptools)
on a fresh SQLite file; tests talk to it over real HTTP with httpx.
"""

import sqlite3

import httpx
import pytest

from demo.server import running

PASSWORD = "TestPassword123!"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    return tmp_path_factory.mktemp("demo") / "demo.sqlite3"


@pytest.fixture(scope="session")
def base_url(demo_db):
    with running(demo_db) as url:
        yield url


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, timeout=5.0) as c:
        yield c


def sign_in(client, email="test1@example.com", password=PASSWORD) -> str:
    r = client.post("/auth/sign-in", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["token"]


@pytest.fixture
def auth(client):
    return {"Authorization": f"Bearer {sign_in(client)}"}


@pytest.fixture
def sql(demo_db):
    """Direct read access to the service's SQLite file, to check what was persisted."""
    conn = sqlite3.connect(demo_db)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


@pytest.fixture
def set_knobs(client):
    """PUT /admin/knobs; every knob is reset to zero after the test."""

    def put(**body):
        r = client.put("/admin/knobs", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    yield put
    client.put("/admin/knobs", json={"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "routes": {}})
