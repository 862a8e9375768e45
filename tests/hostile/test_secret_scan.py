"""No secret in any output (issue 14): secrets planted in a campaign (a query parameter, headers, a
cookie, an auth flow's password) and in a target's answers (a session token, Set-Cookie, a Location
with ?token=, a next-page URL with an access token, a JWT, an error echoing the request's bearer
token) — then every output of a real run is scanned for them: every warehouse table and column,
the reports folder (HTML, PNG, run.json), JUnit, stdout and stderr, the Slack messages the fake
Slack Web API received, and, on the Prefect path, the temporary server's database (flow and task
runs, logs, artifacts).

The secrets must still *work*: the target checks them and answers 401 without them, so a run that
passes used them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from campaigns.redact import contains_secret
from tests.loopback import serve
from tests.notify.fake_slack import VALID_TOKEN, FakeSlack, create_fake_slack

ROOT = Path(__file__).resolve().parents[2]

# in the campaign (literally or through ${env:…})
QUERY_KEY = "qk-7Hd92kfLw0"          # ?api_key= in an endpoint's path
ENV_API_KEY = "ek-p4ZrT81mQs"        # an environment header X-Api-Key, from ${env:…}
COOKIE = "ck-Vb61NnqA0z"             # a Cookie header on an endpoint, from ${env:…}
PASSWORD = "pw-Lo93xXk2Qe"           # the auth flow's sign-in password, from ${env:…}
# in the target's answers
SESSION = "st-Qm38ZvYt5k"            # the sign-in's token (then sent as Authorization: Bearer …)
SET_COOKIE = "sc-Hh27WwPa9d"         # a Set-Cookie value
LOCATION = "lt-Xx04CcRr7u"           # a 302's Location: /api/items?token=…
NEXT_TOKEN = "nt-Jk55BbVv3s"         # a next-page URL with access_token=…
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwZXJmIn0.c2lnbmF0dXJlLXBsYW50ZWQ"
SECRETS = [QUERY_KEY, ENV_API_KEY, COOKIE, PASSWORD, SESSION, SET_COOKIE, LOCATION, NEXT_TOKEN, JWT]


def target() -> FastAPI:
    app = FastAPI()

    def need(request: Request, header: str, value: str) -> JSONResponse | None:
        got = request.headers.get(header, "")
        if got != value:  # echo what came, as careless services do
            return JSONResponse({"error": "unauthorized", "received": {header: got}}, status_code=401)
        return None

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.post("/auth/sign-in")
    async def sign_in(request: Request):
        body = await request.json()
        if body.get("password") != PASSWORD:
            return JSONResponse({"error": f"bad password {body.get('password')}"}, status_code=401)
        response = JSONResponse({"token": SESSION, "id_token": JWT, "user": {"id": 1}})
        response.set_cookie("sid", SET_COOKIE)
        return response

    @app.get("/api/items")
    async def items(request: Request):
        if request.query_params.get("api_key") != QUERY_KEY:
            return JSONResponse({"error": "api_key"}, status_code=401)
        denied = need(request, "x-api-key", ENV_API_KEY)
        if denied:
            return denied
        port = request.url.port
        return {"items": [{"id": 1, "name": "Widget"}, {"id": 2, "name": "Gadget"}],
                "next": f"http://127.0.0.1:{port}/api/items?page=2&access_token={NEXT_TOKEN}",
                "session": {"token": SESSION}}

    @app.get("/api/private")
    async def private(request: Request):
        denied = need(request, "authorization", f"Bearer {SESSION}")
        if denied:
            return denied
        return {"id": 7, "owner": "perf", "refresh_token": SESSION}

    @app.get("/api/cookie")
    async def cookie(request: Request):
        if request.cookies.get("session") != COOKIE:
            return JSONResponse({"error": "no session"}, status_code=401)
        return {"id": 3, "cookie": f"session={COOKIE}"}

    @app.get("/api/moved")
    async def moved():
        return RedirectResponse(f"/api/items?token={LOCATION}", status_code=302)

    @app.get("/api/broken")
    async def broken(request: Request):
        return JSONResponse({"detail": f"upstream failed for {request.url} with Authorization: "
                                       f"{request.headers.get('authorization', '')}"}, status_code=500)

    return app


def campaign(url: str, channel: str) -> str:
    return f"""
campaign: secrets
team: qa
slack_channel: "{channel}"
environments:
  dev:
    kind: dev
    base_url: "{url}"
    headers: {{X-Api-Key: "${{env:PLANTED_API_KEY}}"}}
auth:
  request: {{method: POST, path: /auth/sign-in, json: {{email: perf@example.com, password: "${{env:PLANTED_PASSWORD}}"}}}}
  capture: $.token
endpoints:
  - {{name: health, path: /health}}
  - {{name: items, path: "/api/items?api_key={QUERY_KEY}&page=1", expect: {{fields: ["items[0].id"]}}}}
  - {{name: private, path: /api/private, auth: true, expect: {{fields: [id]}}}}
  - {{name: cookie, path: /api/cookie, headers: {{Cookie: "${{env:PLANTED_COOKIE}}"}}, expect: {{fields: [id]}}}}
  - {{name: moved, path: /api/moved}}
  - {{name: broken, path: /api/broken, auth: true}}
e2e:
  api_journeys:
    - name: browse
      continue_on_failure: true
      steps: [{{endpoint: items}}, {{endpoint: private}}, {{endpoint: cookie}}, {{endpoint: broken}}]
load:
  rate: 10
  duration: 2s
  thresholds: ["error_rate<100%"]
"""


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    with serve(create_fake_slack(fake)) as url:
        fake.base_url = url
        yield fake


def _run(tmp_path: Path, slack: FakeSlack, prefect: bool) -> tuple[subprocess.CompletedProcess[str], Path]:
    with serve(target()) as url:
        path = tmp_path / "campaign.yaml"
        path.write_text(campaign(url, "#perf-secrets"))
        warehouse = tmp_path / "state" / "warehouse.duckdb"
        env = {**os.environ, "PLANTED_API_KEY": ENV_API_KEY, "PLANTED_PASSWORD": PASSWORD,
               "PLANTED_COOKIE": f"session={COOKIE}",
               "SLACK_BOT_TOKEN": VALID_TOKEN, "PERFCAMPAIGN_SLACK_API_URL": slack.api_url,
               "PYTHONPATH": str(ROOT), "PERFCAMPAIGN_WAREHOUSE": str(warehouse)}
        env.pop("PREFECT_API_URL", None)
        if prefect:
            env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
        cmd = [sys.executable, "-m", "flows.cli", "run", str(path), "--stages", "readiness,smoke,e2e,load", "--json",
               "--junit", str(tmp_path / "junit.xml"), "--warehouse", str(warehouse)]
        if not prefect:
            cmd.append("--no-prefect")
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    return done, warehouse


def _warehouse_text(warehouse: Path) -> str:
    """Every value of every table, as text (the DuckDB file compresses strings: read them back)."""
    from warehouse.store import Warehouse

    store = Warehouse(warehouse)
    tables = [r[0] for r in store.fetchall("SELECT table_name FROM information_schema.tables")]
    out = []
    for table in tables:
        for row in store.fetchall(f'SELECT * FROM "{table}"'):
            out.append(f"{table}: " + " | ".join(str(v) for v in row))
    return "\n".join(out)


def _files_text(folder: Path) -> dict[str, str]:
    out = {}
    for file in folder.rglob("*"):
        if file.is_file() and file.suffix not in (".duckdb", ".wal") and ".spool" not in str(file):
            out[str(file.relative_to(folder))] = file.read_bytes().decode("latin-1")
    return out


def _scan(done: subprocess.CompletedProcess[str], warehouse: Path, slack: FakeSlack,
          tmp_path: Path) -> dict[str, list[str]]:
    places = {"stdout": done.stdout, "stderr": done.stderr, "warehouse": _warehouse_text(warehouse),
              "slack": json.dumps([c["payload"] for c in slack.calls], default=str)
              + "".join((f["content"] or b"").decode("latin-1") for f in slack.files.values())}
    for name, text in _files_text(tmp_path / "state").items():
        places[f"state/{name}"] = text
    places["junit.xml"] = (tmp_path / "junit.xml").read_text() if (tmp_path / "junit.xml").exists() else ""
    return {where: found for where, text in places.items() if (found := contains_secret(text, SECRETS))}


def _the_secrets_were_used(doc: dict) -> None:
    dev = doc["environments"]["dev"]
    smoke = {name: view.get("smoke") or {} for name, view in dev["endpoints"].items()}
    assert smoke["items"].get("status_code") == 200 and smoke["private"].get("status_code") == 200, smoke
    assert smoke["cookie"].get("status_code") == 200, smoke
    assert dev["stages"]["load"]["summary"]["requests"] > 0


def test_no_planted_secret_reaches_any_output(tmp_path, slack):
    done, warehouse = _run(tmp_path, slack, prefect=False)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    doc = json.loads(done.stdout)
    _the_secrets_were_used(doc)
    assert slack.count("chat.postMessage") == 1
    leaks = _scan(done, warehouse, slack, tmp_path)
    assert leaks == {}, leaks


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_no_planted_secret_reaches_prefect(tmp_path, slack):
    """The Prefect path: the same scan, plus the temporary server's database (runs, logs, artifacts)."""
    done, warehouse = _run(tmp_path, slack, prefect=True)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    _the_secrets_were_used(json.loads(done.stdout))
    leaks = _scan(done, warehouse, slack, tmp_path)
    for db in (tmp_path / "prefect").rglob("*.db"):
        con = sqlite3.connect(db)
        text = []
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in con.execute(f'SELECT * FROM "{table}"'):
                text.append(" ".join(str(v) for v in row))
        con.close()
        found = contains_secret("\n".join(text), SECRETS)
        if found:
            leaks[f"prefect:{db.name}"] = found
    assert any((tmp_path / "prefect").rglob("*.db")), "no Prefect database to scan"
    assert leaks == {}, leaks
