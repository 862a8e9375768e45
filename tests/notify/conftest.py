from __future__ import annotations

import pytest

from tests.loopback import serve
from tests.notify.fake_slack import VALID_TOKEN, FakeSlack, create_fake_slack


@pytest.fixture(scope="session")
def _fake_slack_server():
    fake = FakeSlack()
    with serve(create_fake_slack(fake)) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def fake_slack(_fake_slack_server):
    """The fake Slack Web API on loopback, emptied for each test."""
    _fake_slack_server.reset()
    yield _fake_slack_server


@pytest.fixture
def slack_client(fake_slack):
    """The real slack-sdk WebClient, pointed at the fake."""
    from tasks.notify.slack import web_client

    return web_client(VALID_TOKEN, base_url=fake_slack.api_url, timeout=10)
