from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campaigns.model import Campaign
from tasks.chaos.context import ChaosContext
from tests.chaos.servers import Backend


CampaignWithChaos = Campaign  # the name the tests use for a campaign that carries a chaos section


HERE = Path(__file__).parent
ROOT = HERE.parents[1]
DEMO_SECTION = (HERE / "demo_chaos.yaml").read_text()


@pytest.fixture
def chaos_loader():
    """Kept for the tests that ask for it: the loader's Campaign carries ``chaos`` itself."""


def _without_chaos(text: str) -> str:
    """The campaign text minus its top-level ``chaos:`` block (and the comment line just above it)."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("chaos:"):
            skipping = True
            if out and out[-1].startswith("#"):
                out.pop()
            continue
        if skipping and line.strip() and not line[0].isspace():
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out)


def write_demo(tmp_path: Path, section: str = DEMO_SECTION) -> Path:
    """campaigns/demo.yaml with ``section`` as its chaos section, in a temporary folder."""
    text = _without_chaos((ROOT / "campaigns" / "demo.yaml").read_text())
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "demo-users.csv").write_text((ROOT / "campaigns" / "data" / "demo-users.csv").read_text())
    path = tmp_path / "demo.yaml"
    path.write_text(text + "\n" + section)
    return path


@pytest.fixture
def backend() -> Iterator[Backend]:
    with Backend() as b:
        yield b


ENDPOINTS = [{"name": "ok", "path": "/ok"}, {"name": "sleepy", "path": "/sleep?ms=5"},
             {"name": "dep", "path": "/dep"}, {"name": "big", "path": "/big?n=2000"}]


def campaign(url: str, chaos: dict[str, Any], kind: str = "dev", **env: Any) -> CampaignWithChaos:
    return CampaignWithChaos.model_validate({
        "campaign": "chaos-test", "team": "t",
        "environments": {"dev": {"kind": kind, "base_url": url, **env}},
        "endpoints": ENDPOINTS, "chaos": chaos})


def context(c: CampaignWithChaos, tmp_path: Path, events: list | None = None, env: str = "dev",
            **kw: Any) -> ChaosContext:
    e = c.environments[env]
    sink = events if events is not None else []
    return ChaosContext(campaign=c, spec=c.chaos, env_name=env, env_kind=e.kind, base_url=e.base_url,
                        allow_hosts=list(e.allow_hosts), out_dir=tmp_path, base_dir=tmp_path,
                        emit=lambda kind, message, data: sink.append((kind, message, data)), **kw)


def experiment(name: str = "exp", method: list | None = None, *, endpoints: list[str] | None = None,
               tolerances: dict | None = None, **kw: Any) -> dict[str, Any]:
    """A short experiment: a 1 s probe at 20 req/s, a 1 s baseline, 1 s recovery hold."""
    doc = {"name": name,
           "steady_state": {"tolerances": tolerances or {"p95_ms": 100, "error_rate": "1%"},
                            "probes": [{"endpoints": endpoints or ["ok"], "rate": 20, "duration": 1}]},
           "baseline": 1, "method": method or [{"fault": "latency", "params": {"latency_ms": 200}, "duration": 1}],
           "recovery": {"timeout": 5, "hold": 1}, "time_bound": 30}
    doc.update(kw)
    return doc


def spec(*experiments: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"load": {"rate": 20, "timeout": "1s"}, "seed": 7, "experiments": list(experiments), **kw}
