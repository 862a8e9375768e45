"""Quick load (`perfcampaign load URL`) under issue 14's safety rules: the exit code follows the
thresholds (error_rate<1% by default), and hosts beyond loopback only by name (--allow-host), writes
to them only with --allow-writes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from tasks.load.quick import load_command
from tests.load.servers import TestServer


@pytest.fixture(scope="module")
def server() -> Iterator[TestServer]:
    with TestServer() as s:
        yield s




def test_a_run_where_every_request_fails_exits_1_by_default(server):
    """error_rate<1% applies when no threshold of the user's is about errors (issue 14: exit 0 at 100 % errors)."""
    r = CliRunner().invoke(load_command, [f"{server.url}/status/500", "--rate", "50", "-d", "1s", "--json"])
    doc = json.loads(r.output.strip().splitlines()[-1])
    assert doc["error_rate"] == 1.0 and r.exit_code == 1, r.output
    assert [t["threshold"] for t in doc["thresholds"]] == ["error_rate<1% (default)"]
    r = CliRunner().invoke(load_command, [f"{server.url}/status/500", "--rate", "50", "-d", "1s", "--json",
                                          "--threshold", "error_rate<=100%"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(load_command, [f"{server.url}/ok", "--rate", "50", "-d", "1s", "--json",
                                          "--threshold", "p(99)<5000"])
    doc = json.loads(r.output.strip().splitlines()[-1])
    assert r.exit_code == 0 and len(doc["thresholds"]) == 2, r.output


def test_allow_host_lets_a_named_host_through_and_nothing_else():
    runner = CliRunner()
    r = runner.invoke(load_command, ["http://shop.internal:1/", "--rate", "5", "-d", "1s"])
    assert r.exit_code == 2 and "--allow-host shop.internal" in r.output
    r = runner.invoke(load_command, ["http://shop.internal:1/", "--rate", "5", "-d", "1s", "--allow-host", "other"])
    assert r.exit_code == 2
    r = runner.invoke(load_command, ["http://shop.internal:1/", "-X", "POST", "--rate", "5", "-d", "1s",
                                     "--allow-host", "shop.internal"])
    assert r.exit_code == 2 and "--allow-writes" in r.output


def test_allow_host_reaches_a_host_named_beyond_loopback(server):
    """2130706433 is 127.0.0.1 written as one number: not a loopback name to the allow-list check, yet
    it resolves to loopback, so the positive path is tested without sending anything elsewhere."""
    port = server.url.rsplit(":", 1)[1]
    url = f"http://2130706433:{port}/ok"
    r = CliRunner().invoke(load_command, [url, "--rate", "20", "-d", "1s", "--json"])
    assert r.exit_code == 2
    r = CliRunner().invoke(load_command, [url, "--rate", "20", "-d", "1s", "--json", "--allow-host", "2130706433"])
    doc = json.loads(r.output.strip().splitlines()[-1])
    assert r.exit_code == 0 and doc["requests"] == 20 and doc["errors"] == 0, r.output
