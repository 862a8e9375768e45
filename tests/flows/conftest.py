from tests.notify.conftest import _fake_slack_server, fake_slack, slack_client  # noqa: F401 - shared fixtures
