from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.loopback import serve
from tests.shop import create_shop

ROOT = Path(__file__).resolve().parents[1]

# The machine has no route out: Prefect's telemetry would only log errors.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path, monkeypatch):
    """No test touches the user's .perfcampaign folder; tables get their width from the output, not
    from a COLUMNS that pytest-xdist's workers inherit (80)."""
    monkeypatch.setenv("PERFCAMPAIGN_WAREHOUSE", str(tmp_path / "state" / "warehouse.duckdb"))
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@pytest.fixture(scope="session")
def shop_url():
    with serve(create_shop(slow_ms=50)) as url:
        yield url


@pytest.fixture
def cli_env(tmp_path):
    """Environment for running ``perfcampaign`` as a subprocess."""
    env = {**os.environ, "PERFCAMPAIGN_WAREHOUSE": str(tmp_path / "state" / "warehouse.duckdb")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env



def pytest_unconfigure(config):
    """Prefect's temporary servers stop at interpreter exit and log to streams pytest has closed:
    keep those logging errors out of the run's last lines."""
    import logging

    logging.raiseExceptions = False
