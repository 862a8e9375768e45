"""The readiness stage against a real loopback API: verdicts with reasons, the summary's list of what
load leaves out, write probes that leave the target as they found it, the never-write list,
production, and a Location pointing at another host."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException, Response
from fastapi.responses import JSONResponse

from campaigns.loader import load_campaign
from tasks.base import RunContext
from tasks.readiness.stage import ReadinessStage
from tests.loopback import free_port, serve
from tests.test_smoke import NOTES_CAMPAIGN, _notes_app


def _ctx(tmp_path: Path, text: str, env: str = "dev") -> RunContext:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return RunContext(loaded=load_campaign(path), env_name=env, run_id="r", out_dir=tmp_path)


@pytest.fixture
def notes():
    app = _notes_app()
    with serve(app) as base:
        yield app, base


def test_readiness_leaves_the_target_as_it_found_it_and_says_why(tmp_path, notes):
    app, base = notes
    ctx = _ctx(tmp_path, NOTES_CAMPAIGN.format(base=base, extra=""))
    result = asyncio.run(ReadinessStage().run(ctx))
    by = {e["name"]: e for e in result.endpoints}
    assert by["create"]["verdict"] == "real" and by["read"]["verdict"] == "real"
    assert by["delete"]["verdict"] == "real", by["delete"]          # it deleted an object it created itself
    assert by["search"]["verdict"] == "real"                          # a query POST, probed as a read
    assert by["wipe"]["verdict"] == "unverified" and "bulk" in by["wipe"]["reason"]
    excluded = {e["endpoint"]: e for e in result.summary["excluded"]}
    assert "wipe" in excluded and excluded["wipe"]["reason"] and excluded["wipe"]["left_out_of_load"] is False
    harm = result.summary["harm"]
    assert harm["created"] >= 1 and harm["left_behind"] == [] and harm["removed"] == harm["created"]
    assert list(app.state.notes) == [1] and app.state.notes[1]["name"] == "keep me"     # the sample survived
    assert app.state.settings == {"theme": "dark", "lang": "en"}                        # put back
    assert app.state.bulk_calls == []


def test_never_write_and_production_are_unverified_not_real(tmp_path, notes):
    app, base = notes
    text = NOTES_CAMPAIGN.format(base=base, extra="") + "readiness: {never_write: [create]}\n"
    dev = asyncio.run(ReadinessStage().run(_ctx(tmp_path, text)))
    by = {e["name"]: e for e in dev.endpoints}
    assert by["create"]["verdict"] == "unverified" and "never" in by["create"]["reason"]
    ctx = _ctx(tmp_path, NOTES_CAMPAIGN.format(base=base, extra=""), env="production")
    prod = asyncio.run(ReadinessStage().run(ctx))
    by = {e["name"]: e for e in prod.endpoints}
    assert {by[n]["verdict"] for n in ("create", "delete", "settings", "wipe")} == {"unverified"}
    assert "production" in by["create"]["reason"] or "allow_writes" in by["create"]["reason"]
    assert by["search"]["verdict"] == "real" and by["list"]["verdict"] == "real"
    assert prod.summary["probe_writes"] is False and prod.summary["harm"]["writes_sent"] == 0
    assert list(app.state.notes) == [1] and app.state.settings["theme"] == "dark"


def _offsite_app(other: str) -> FastAPI:
    app = FastAPI()
    app.state.hits = 0

    @app.post("/api/jobs", status_code=201)
    async def create(body: dict):
        return JSONResponse({"id": 7, **body}, status_code=201, headers={"Location": f"{other}/jobs/7"})

    @app.get("/api/jobs/{jid}")
    async def read(jid: int):
        if jid != 7:
            raise HTTPException(404, "job not found")
        return {"id": 7}

    @app.delete("/api/jobs/{jid}", status_code=204)
    async def delete(jid: int):
        return Response(status_code=204)

    return app


def test_a_location_on_another_host_is_never_followed(tmp_path):
    """The allow-list is checked before anything is sent: a Location pointing at 127.0.0.2 is
    refused, so the endpoint's credentials never leave for another host."""
    trap = FastAPI()
    trap.state.hits = 0

    @trap.get("/{path:path}")
    async def anything(path: str):
        trap.state.hits += 1
        return {"stolen": True}

    port = free_port()
    with serve(trap, port=port):
        other = f"http://127.0.0.2:{port}"
        with serve(_offsite_app(other)) as base:
            text = f"""campaign: jobs
team: t
environments:
  dev: {{kind: dev, base_url: "{base}"}}
endpoints:
  - {{name: create-job, method: POST, path: /api/jobs, json: {{name: nightly}},
     headers: {{Authorization: "Bearer ${{env:JOBS_TOKEN}}"}}}}
"""
            import os
            os.environ["JOBS_TOKEN"] = "t0k3n"
            result = asyncio.run(ReadinessStage().run(_ctx(tmp_path, text)))
    ev = {e["signal"]: e for e in result.endpoints[0]["evidence"]}
    assert "location-offsite" in ev, result.endpoints[0]
    assert trap.state.hits == 0
