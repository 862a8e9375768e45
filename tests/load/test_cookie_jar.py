"""A cookie jar per virtual user: the jar's RFC 6265 rules, then a sign-in-then-account flow on a real
loopback app through the built-in engine, k6 (the same pass/fail: engine parity) and e2e API journeys,
with cookies on (the default, as in Artillery and k6) and switched off."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI, Request, Response

from campaigns.loader import load_campaign
from flows.runner import RunOptions, run_campaign
from tasks.load.cookies import CookieJar, set_cookie_values
from tests.loopback import serve
from warehouse.store import Warehouse

# -- the jar ---------------------------------------------------------------------------------------


def request(path: str, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8\r\n{extra}\r\n".encode()


def test_the_jar_stores_sends_replaces_and_deletes():
    jar = CookieJar("127.0.0.1", secure=False)
    assert not jar and jar.apply(request("/a")) == request("/a")  # empty: the bytes are untouched
    jar.store([b"sid=abc; Path=/; HttpOnly", b"theme=dark; Path=/prefs", b"tok=s; Secure"], "/login")
    assert jar.header("/account") == "sid=abc"                      # /prefs does not match, Secure needs https
    assert jar.header("/prefs/colors") == "theme=dark; sid=abc"      # longer path first
    assert jar.header("/preferences") == "sid=abc"                   # a path matches on a '/' boundary
    jar.store([b"sid=xyz; Path=/"], "/again")
    assert jar.header("/") == "sid=xyz"
    jar.store([b"sid=; Max-Age=0; Path=/"], "/logout")
    assert jar.header("/") is None
    jar.store([b"old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT"], "/")
    assert jar.header("/") is None
    jar.store([b"x=1; Domain=example.com"], "/")                   # another site's domain: refused
    assert jar.header("/") is None


def test_apply_adds_or_merges_the_cookie_header_and_keeps_the_body():
    jar = CookieJar("127.0.0.1", secure=False)
    jar.store([b"sid=abc"], "/")
    assert jar.apply(request("/a")) == request("/a", "Cookie: sid=abc")
    merged = jar.apply(request("/a", "Cookie: lang=en", "X-Other: 1"))
    assert b"Cookie: lang=en; sid=abc\r\n" in merged and merged.endswith(b"X-Other: 1\r\n\r\n")
    post = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"
    assert jar.apply(post) == b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nCookie: sid=abc\r\n\r\n{}"


def test_set_cookie_values_reads_only_set_cookie_headers():
    data = b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nset-cookie: b=2\r\nX-Cookie: no\r\n\r\n"
    assert set_cookie_values(data) == [b"a=1; Path=/", b"b=2"]


# -- a real app that signs in with a cookie ---------------------------------------------------------


def cookie_app() -> FastAPI:
    app = FastAPI()
    sessions: set[str] = set()

    @app.post("/session")
    def sign_in(response: Response) -> dict:
        sid = uuid.uuid4().hex
        sessions.add(sid)
        response.set_cookie("sid", sid, path="/", httponly=True)
        return {"ok": True}

    @app.get("/account")
    def account(request: Request, response: Response) -> dict:
        if request.cookies.get("sid") not in sessions:
            response.status_code = 401
            return {"error": "sign in first"}
        return {"account": "ok"}

    @app.post("/logout")
    def logout(response: Response) -> dict:
        response.delete_cookie("sid", path="/")
        return {"ok": True}

    @app.get("/signed-out")
    def signed_out(request: Request, response: Response) -> dict:
        if "sid" in request.cookies:  # the jar must have dropped the deleted cookie
            response.status_code = 409
        return {}

    return app


@pytest.fixture(scope="module")
def cookie_url():
    with serve(cookie_app()) as url:
        yield url


STEPS = [{"endpoint": "sign-in"}, {"endpoint": "account"}, {"endpoint": "logout"}, {"endpoint": "signed-out"}]


def write(tmp_path: Path, url: str, engine: str, cookies: bool | None) -> Path:
    load = {"engine": engine, "phases": [{"duration": "2s", "arrivalRate": 10}], "max_vus": 20,
            "scenarios": [{"name": "account", "steps": STEPS}], "thresholds": ["error_rate<=0"]}
    if cookies is not None:
        load["cookies"] = cookies
    doc = {"campaign": "cookies", "team": "qa",
           "environments": {"dev": {"kind": "dev", "base_url": url}},
           "endpoints": [{"name": "sign-in", "method": "POST", "path": "/session"},
                         {"name": "account", "path": "/account"},
                         {"name": "logout", "method": "POST", "path": "/logout"},
                         {"name": "signed-out", "path": "/signed-out"}],
           "load": load,
           "e2e": {"api_journeys": [{"name": "account", "steps": STEPS}],
                   **({"options": {"cookies": cookies}} if cookies is not None else {})}}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def run(path: Path, tmp_path: Path, stages: tuple[str, ...]):
    store = Warehouse(tmp_path / "wh.duckdb")
    store.migrate()
    report = asyncio.run(run_campaign(load_campaign(path), store, RunOptions(
        stages=list(stages), trigger="test", start_services=False, out_dir=tmp_path / "runs",
        stage_options={"shards": 1})))
    return report.environments["dev"]


def load_outcome(env) -> tuple[bool, dict]:
    result = env.results["load"]
    assert result.status in ("passed", "failed"), (result.status, result.error)
    by_name = {e["name"]: e for e in result.summary["endpoints"]} if "endpoints" in result.summary else {}
    return result.gates_passed, by_name


def test_the_builtin_engine_keeps_a_jar_per_virtual_user(tmp_path, cookie_url):
    on = run(write(tmp_path / "on", cookie_url, "builtin", None), tmp_path / "on", ("load",))
    passed, _ = load_outcome(on)
    assert passed, on.results["load"].gates
    rows = on.results["load"].rows["endpoint_metrics"]
    account = next(r for r in rows if r["endpoint"] == "account")
    assert account["requests"] >= 10 and account["errors"] == 0
    off = run(write(tmp_path / "off", cookie_url, "builtin", False), tmp_path / "off", ("load",))
    passed, _ = load_outcome(off)
    assert not passed
    account = next(r for r in off.results["load"].rows["endpoint_metrics"] if r["endpoint"] == "account")
    assert account["errors"] == account["requests"] > 0 and account["status_codes"] == {"401": account["requests"]}


def test_api_journeys_keep_a_jar_per_journey(tmp_path, cookie_url):
    on = run(write(tmp_path / "on", cookie_url, "builtin", None), tmp_path / "on", ("e2e",))
    assert on.results["e2e"].gates_passed, on.results["e2e"].gates
    off = run(write(tmp_path / "off", cookie_url, "builtin", False), tmp_path / "off", ("e2e",))
    assert not off.results["e2e"].gates_passed


@pytest.mark.slow
def test_engine_parity_the_same_campaign_passes_and_fails_the_same_on_k6(tmp_path, cookie_url):
    outcomes = {}
    for engine in ("builtin", "k6"):
        for cookies in (True, False):
            where = tmp_path / f"{engine}-{cookies}"
            env = run(write(where, cookie_url, engine, cookies), where, ("load",))
            outcomes[(engine, cookies)] = load_outcome(env)[0]
    assert outcomes == {("builtin", True): True, ("builtin", False): False, ("k6", True): True, ("k6", False): False}
