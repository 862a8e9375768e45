from __future__ import annotations

import pytest

from tests.importers.demo_service import demo_service


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory):
    with demo_service(tmp_path_factory.mktemp("demo-k6") / "demo.sqlite3") as url:
        yield url
