"""Fixtures for the e2e stage: the pages app on loopback, one Chromium per module, campaign files."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio

from campaigns import loader
from tasks.base import RunContext
from tasks.e2e.browser import BrowserPool
from tests.e2e.pages import create_pages_app
from tests.loopback import serve

@pytest.fixture(scope="module")
def pages():
    """(base URL, app) of the pages app."""
    app = create_pages_app()
    with serve(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def pages_url(pages):
    return pages[0]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser():
    """One Chromium for every test of a module."""
    from campaigns.e2e import E2EOptions

    async with BrowserPool(E2EOptions()) as b:
        yield b


def make_context(tmp_path: Path, text: str, env: str = "dev") -> RunContext:
    path = tmp_path / "campaign.yaml"
    path.write_text(text)
    return RunContext(loaded=loader.load_campaign(path), env_name=env, run_id="run-1", out_dir=tmp_path / "out")
