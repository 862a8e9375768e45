from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.importers.demo_service import demo_service

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory):
    with demo_service(tmp_path_factory.mktemp("demo-importers") / "demo.sqlite3") as url:
        yield url


@pytest.fixture(scope="session")
def demo_token(demo_url):
    r = httpx.post(f"{demo_url}/auth/sign-in", json={"email": "test1@example.com", "password": "TestPassword123!"})
    assert r.status_code == 200, r.text
    return r.json()["token"]
