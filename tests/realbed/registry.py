"""Every configuration of the bed, in one registry (``CONFIGS``), by group.

Calibration: json-server 0.17, Mockoon CRUD + templating, WireMock templated + priorities +
scenarios, Prism static on Prefect's spec, Mockoon and apimocker proxies in front of the real
shop, the real shop with canned handlers (as dev, as production, and from its own spec directly
and behind Prism's proxy), a hand-rolled Express mock, the real Prefect server.
Held out: Prism dynamic on the shop's spec, json-server 1.x, WireMock proxy in front of the real
shop, a hand-rolled FastAPI mock, Mockoon started from an OpenAPI spec, Mockoon CRUD on a CRM,
a real library app with canned handlers, the real Kinto.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Callable

import httpx
import yaml

from tests.realbed import launch
from tests.realbed.bed import (CONFIGS, Bed, Config, Counts, Target, init_campaign, json_count, no_5xx,
                               prefect_server, read_truth, shop_counter, shop_spec, start_shop, every_nth,
                               write_campaign)


def _copy_config(bed: Bed, name: str, work: str | None = None) -> tuple[Path, Path]:
    src = CONFIGS / name
    dest = bed.folder(work or name)
    for item in src.iterdir():
        if item.is_dir():
            shutil.copytree(item, dest / item.name, dirs_exist_ok=True)
        else:
            shutil.copy(item, dest / item.name)
    return src, dest


# ---- calibration ----------------------------------------------------------------------------------

def json_server_shop(bed: Bed) -> Target:
    src, work = _copy_config(bed, "json-server-shop")
    proc = launch.start(bed.stack, "json-server-0.17",
                        launch.node_tool("json-server", "lib/cli/bin.js") +
                        ["--host", "127.0.0.1", "--port", "{port}", "--routes", "routes.json", "db.json"],
                        work, ready_path="/profile")

    def count() -> Counts:
        return Counts(deletable={c: json_count(f"{proc.url}/{c}") for c in ("products", "customers", "orders")})
    return Target(CONFIG["json-server-shop"], proc.url, write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url),
                  read_truth(src), count=count)


def mockoon_helpdesk(bed: Bed) -> Target:
    src, work = _copy_config(bed, "mockoon-helpdesk")
    proc = launch.start(bed.stack, "mockoon-helpdesk",
                        launch.node_tool("@mockoon/cli", "bin/run.js") +
                        ["start", "--data", "environment.json", "--port", "{port}", "--hostname", "127.0.0.1", "-X"],
                        work, ready_path="/api/dashboard")

    def count() -> Counts:
        return Counts(deletable={c: json_count(f"{proc.url}/api/{c}") for c in ("customers", "tickets")})
    return Target(CONFIG["mockoon-helpdesk"], proc.url,
                  write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url), read_truth(src), count=count,
                  env={"HELPDESK_PASSWORD": "not-a-real-secret"})


def wiremock_payments(bed: Bed) -> Target:
    src, work = _copy_config(bed, "wiremock-payments")
    proc = launch.start(bed.stack, "wiremock-payments",
                        ["java", "-jar", str(launch.wiremock_jar()), "--port", "{port}", "--bind-address", "127.0.0.1",
                         "--root-dir", ".", "--disable-banner"], work, ready_path="/__admin/health", timeout=90)
    return Target(CONFIG["wiremock-payments"], proc.url,
                  write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url), read_truth(src))


def prism_static_prefect(bed: Bed) -> Target:
    """Prism serving Prefect's own spec statically (examples), as a team mocks a backend not yet
    deployed; the campaign is what ``init --openapi`` writes from that spec, every 4th operation."""
    spec = prefect_server(bed).spec
    work = bed.folder("prism-static-prefect")
    proc = launch.start(bed.stack, "prism-static",
                        launch.node_tool("@stoplight/prism-cli", "dist/index.js") +
                        ["mock", "-h", "127.0.0.1", "-p", "{port}", str(spec)], work, ready_path="/health")
    campaign, endpoints = init_campaign(spec, work, proc.url, "prefect-on-prism")
    keep = every_nth(endpoints, 4)
    run = write_campaign(campaign, work / "run.yaml", proc.url, keep=lambda ep: ep["name"] in keep)
    shutil.copy(campaign.with_name("prefect-on-prism.schemas.json"), work / "run.schemas.json")
    return Target(CONFIG["prism-static-prefect"], proc.url, run, {name: "mock" for name in keep})


def mockoon_proxy_shop(bed: Bed) -> Target:
    return _mockoon_proxy(bed, "mockoon-proxy-shop", "shop-behind-mockoon", production=False)


def shop_canned(bed: Bed) -> Target:
    src = CONFIGS / "shop-canned"
    shop = start_shop(bed, "shop-canned")
    return Target(CONFIG["shop-canned"], shop.url,
                  write_campaign(src / "campaign.yaml", bed.folder("shop-canned") / "run.yaml", shop.url),
                  read_truth(src), count=shop_counter(bed.work / "shop-canned" / "shop.sqlite3"),
                  health=no_5xx([shop.url + "/api/health", shop.url + "/api/products"]))


def as_production(src: Path) -> dict:
    """A campaign of the bed as a production-kind environment (no write probes), same endpoints."""
    doc = yaml.safe_load(src.read_text())
    doc["environments"] = {"production": {"kind": "production", "base_url": "http://127.0.0.1:8080"}}
    return doc


def shop_production(bed: Bed) -> Target:
    """The same real shop with canned handlers, as a production-kind environment: no write probes,
    so a write endpoint can only be judged honestly "unverified" (or mock), never "real"."""
    src = CONFIGS / "shop-canned"
    shop = start_shop(bed, "shop-production")
    return Target(CONFIG["shop-production"], shop.url,
                  write_campaign(as_production(src / "campaign.yaml"), bed.folder("shop-production") / "run.yaml", shop.url), read_truth(src),
                  count=shop_counter(bed.work / "shop-production" / "shop.sqlite3"),
                  health=no_5xx([shop.url + "/api/health", shop.url + "/api/products"]))


def mockoon_proxy_shop_production(bed: Bed) -> Target:
    """Mockoon in proxy mode in front of the real shop, as production: writes relayed to the shop
    are not sent, and Mockoon answers OPTIONS itself on every path (stubbed or relayed), so a relayed
    write can only be "unverified", never "mock"."""
    return _mockoon_proxy(bed, "mockoon-proxy-shop-production", "shop-behind-mockoon-production", production=True)


def _mockoon_proxy(bed: Bed, name: str, shop_name: str, *, production: bool) -> Target:
    src, work = _copy_config(bed, "mockoon-proxy-shop", name)
    shop = start_shop(bed, shop_name)
    env = json.loads((work / "environment.json").read_text())
    env["proxyHost"] = shop.url
    (work / "environment.json").write_text(json.dumps(env, indent=2))
    proc = launch.start(bed.stack, "mockoon-proxy",
                        launch.node_tool("@mockoon/cli", "bin/run.js") +
                        ["start", "--data", "environment.json", "--port", "{port}", "--hostname", "127.0.0.1", "-X"],
                        work, ready_path="/api/health")
    campaign = as_production(src / "campaign.yaml") if production else src / "campaign.yaml"
    return Target(CONFIG[name], proc.url, write_campaign(campaign, work / "run.yaml", proc.url), read_truth(src),
                  count=shop_counter(bed.work / shop_name / "shop.sqlite3"),
                  health=no_5xx([shop.url + "/api/health", shop.url + "/api/products"]))


def apimocker_proxy_shop(bed: Bed) -> Target:
    """apimocker (npm) with its config.json and ``--proxy`` to the real shop: the wishlists and
    gift-cards routes are stubbed from mock files, every other request is relayed through it."""
    return _apimocker(bed, "apimocker-proxy-shop", production=False)


def apimocker_proxy_shop_production(bed: Bed) -> Target:
    """apimocker-proxy-shop as a production environment: no write is sent. apimocker answers OPTIONS
    itself on its stubbed paths (Express's router: 200 + ``Allow``) and relays OPTIONS on the others
    to the shop (405), so a write's own OPTIONS tells which software serves its path."""
    return _apimocker(bed, "apimocker-proxy-shop-production", production=True)


def apimocker_proxy_shop_no_server(bed: Bed) -> Target:
    """apimocker-proxy-shop with the shop run as uvicorn ``--no-server-header`` (what a security scan
    asks for): neither transport lacks a Date or a Server header the other has, and the two sides
    are about the same size, so only what the endpoints show on their own can say which side to blame."""
    return _apimocker(bed, "apimocker-proxy-shop-no-server", production=False, server_header=False)


def _apimocker(bed: Bed, name: str, *, production: bool, server_header: bool = True) -> Target:
    src, work = _copy_config(bed, "apimocker-proxy-shop", name)
    shop = start_shop(bed, f"shop-behind-{name}", server_header=server_header)
    node, _ = launch.node_tool("apimocker", "bin/apimocker.js")  # installed?
    # server.js pins apimocker's express app (it listens on every interface) to 127.0.0.1, then runs its CLI
    cmd = [node, "server.js", "-c", "config.json", "-p", "{port}", "--proxy", shop.url]
    proc = launch.start(bed.stack, name, cmd, work, ready_path="/api/health",
                        env={"NODE_PATH": str(launch.NODE_MODULES)})
    campaign = as_production(src / "campaign.yaml") if production else src / "campaign.yaml"
    return Target(CONFIG[name], proc.url, write_campaign(campaign, work / "run.yaml", proc.url), read_truth(src),
                  count=shop_counter(bed.work / f"shop-behind-{name}" / "shop.sqlite3"),
                  health=no_5xx([shop.url + "/api/health", shop.url + "/api/products"]))

GATEWAY_COMMUNITY = ("reviews", "clubs", "events")


def gateway_access_log(target: Target) -> Path:
    """nginx's access log of the gateway configuration: every request the pass sent through it."""
    return target.campaign.parent / "access.log"


def gateway_shop_production(bed: Bed) -> Target:
    """The team's nginx gateway (Debian's nginx, unprivileged) in front of the real shop, with
    ``/api/community/`` routed to a json-server 1.x over db.json, as a production-kind environment.
    No write is sent; nginx's access log (``access.log`` in the work folder) shows every request."""
    return _gateway(bed, "gateway-shop-production", "nginx.conf")


def gateway_hardened_shop_production(bed: Bed) -> Target:
    """The same gateway hardened as ops teams usually do it: ``X-Powered-By`` hidden on every
    answer, and only the community collections routed (json-server's home page is not reachable)."""
    return _gateway(bed, "gateway-hardened-shop-production", "nginx-hardened.conf")


def _gateway(bed: Bed, name: str, conf_name: str) -> Target:
    src, work = _copy_config(bed, "gateway-shop-production", name)
    shop = start_shop(bed, f"shop-behind-{name}")
    community = launch.start(bed.stack, "json-server-1-community",
                             launch.node_tool("json-server-1", "lib/bin.js") +
                             ["--host", "127.0.0.1", "--port", "{port}", "db.json"], work, ready_path="/clubs")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise launch.ToolMissing("nginx is not installed (scripts/system-deps.sh installs it)")
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "tmp" / temp).mkdir(parents=True, exist_ok=True)
    port = launch.free_port()
    conf = (src / conf_name).read_text()
    for key, value in {"work": str(work), "port": str(port), "shop": str(shop.port),
                       "community": str(community.port)}.items():
        conf = conf.replace("{" + key + "}", value)
    (work / "nginx.conf").write_text(conf)
    proc = launch.start(bed.stack, "nginx-gateway", [nginx, "-p", str(work), "-c", str(work / "nginx.conf"),
                                                      "-e", str(work / "error.log")],
                        work, port=port, ready_path="/api/health")
    shop_count = shop_counter(bed.work / f"shop-behind-{name}" / "shop.sqlite3")

    def count() -> Counts:
        counts = shop_count()
        counts.deletable.update({f"community-{c}": json_count(f"{community.url}/{c}") for c in GATEWAY_COMMUNITY})
        return counts
    return Target(CONFIG[name], proc.url,
                  write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url), read_truth(src), count=count,
                  health=no_5xx([shop.url + "/api/health", community.url + "/clubs"]))


def shop_truth(endpoints: list[dict[str, str]]) -> dict[str, str]:
    """The shop's ground truth for a campaign ``init`` wrote from its spec: canned handlers are mocks."""
    from tests.realbed.apps.shop import CANNED

    return {ep["name"]: "mock" if f"{ep['method']} {ep['path']}" in CANNED else "real" for ep in endpoints}


def shop_openapi(bed: Bed) -> Target:
    """The real shop probed from the campaign ``init --openapi`` writes from its own spec."""
    shop = start_shop(bed, "shop-openapi")
    campaign, endpoints = init_campaign(shop_spec(bed), bed.folder("shop-openapi"), shop.url, "shop-openapi")
    return Target(CONFIG["shop-openapi"], shop.url, campaign, shop_truth(endpoints),
                  count=shop_counter(bed.work / "shop-openapi" / "shop.sqlite3"),
                  health=no_5xx([shop.url + "/api/health", shop.url + "/api/products"]))


def prism_proxy_shop(bed: Bed) -> Target:
    """Prism in proxy mode (validating traffic against the spec) in front of the real shop: every
    request reaches the real service, so only its canned handlers are mocks."""
    return _prism_proxy(bed, "prism-proxy-shop", "shop-behind-prism", production=False)


def prism_proxy_shop_production(bed: Bed) -> Target:
    """Prism's validating proxy in front of the real shop, as production: Prism relays OPTIONS to the
    shop like everything else, so one piece of software answers every path; the shop's canned write
    (subscribe) may be "unverified", a real write must not be "mock"."""
    return _prism_proxy(bed, "prism-proxy-shop-production", "shop-behind-prism-production", production=True)


def _prism_proxy(bed: Bed, name: str, shop_name: str, *, production: bool) -> Target:
    spec = shop_spec(bed)
    shop = start_shop(bed, shop_name)
    work = bed.folder(name)
    proc = launch.start(bed.stack, "prism-proxy",
                        launch.node_tool("@stoplight/prism-cli", "dist/index.js") +
                        ["proxy", "-h", "127.0.0.1", "-p", "{port}", str(spec), shop.url], work,
                        ready_path="/api/health")
    campaign, endpoints = init_campaign(spec, work, proc.url, "shop-via-prism")
    if production:  # rewritten in place: its schemas file stays beside it
        campaign = write_campaign(as_production(campaign), campaign, proc.url)
    return Target(CONFIG[name], proc.url, campaign, shop_truth(endpoints),
                  count=shop_counter(bed.work / shop_name / "shop.sqlite3"),
                  health=no_5xx([shop.url + "/api/health", shop.url + "/api/products"]))


def express_lms(bed: Bed) -> Target:
    src, work = _copy_config(bed, "express-lms")
    launch.node_tool("express", "package.json")  # installed?
    proc = launch.start(bed.stack, "express-lms", ["node", "server.js", "{port}"], work, ready_path="/health",
                        env={"NODE_PATH": str(launch.NODE_MODULES)})

    def count() -> Counts:
        return Counts(deletable={"enrollments": json_count(f"{proc.url}/api/enrollments")})
    return Target(CONFIG["express-lms"], proc.url, write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url),
                  read_truth(src), count=count)


STORM_WINDOW_S = 5.0
STORM_EVENTS_PER_S = 5.0


def prefect_real(bed: Bed) -> Target:
    """The Prefect server itself, probed from the campaign ``init --openapi`` writes from its own
    spec: every documented operation exists and is real."""
    server = prefect_server(bed)
    work = bed.folder("prefect-server")
    campaign, endpoints = init_campaign(server.spec, work, server.api, "prefect")

    def health() -> str | None:
        """No 5xx after the pass, and no event storm: events still pouring in once the pass is
        over (automations a probe created setting each other off) are harm."""
        problem = no_5xx([server.api + "/health", server.api + "/version"])()
        first = server.events()
        time.sleep(STORM_WINDOW_S)
        rate = (server.events() - first) / STORM_WINDOW_S
        if problem is None and rate > STORM_EVENTS_PER_S:
            problem = f"event storm: {rate:.0f} events/s still stored {STORM_WINDOW_S:g}s after the pass ({first} in all)"
        return problem
    return Target(CONFIG["prefect-server"], server.api, campaign, {ep["name"]: "real" for ep in endpoints},
                  count=server.count, health=health)


# ---- held out -------------------------------------------------------------------------------------

KINTO_USER = ("bed", "not-a-real-secret")


def kinto_counter(api: str) -> Callable[[], Counts]:
    """Kinto's objects as the bed's user sees them: buckets, collections, groups, records."""
    def count() -> Counts:
        with httpx.Client(base_url=api, auth=KINTO_USER, timeout=10.0, trust_env=False) as http:
            n = {"buckets": 0, "collections": 0, "groups": 0, "records": 0}
            for b in http.get("/buckets").json()["data"]:
                n["buckets"] += 1
                groups = http.get(f"/buckets/{b['id']}/groups")
                n["groups"] += len(groups.json().get("data", [])) if groups.status_code == 200 else 0
                for c in http.get(f"/buckets/{b['id']}/collections").json().get("data", []):
                    n["collections"] += 1
                    n["records"] += len(http.get(f"/buckets/{b['id']}/collections/{c['id']}/records").json()["data"])
        return Counts(deletable=n)
    return count


def kinto(bed: Bed) -> Target:
    """Kinto (PyPI, memory backend) probed from its own spec: it serves Swagger 2.0, converted with
    swagger2openapi as perfcampaign's error message advises, then ``init --openapi`` (which turns the
    spec's Basic Auth into ``${env:BASICAUTH_CREDENTIALS}``). Seeded with buckets, collections, records."""
    src, work = _copy_config(bed, "kinto")
    port = launch.free_port()
    (work / "kinto.ini").write_text((src / "kinto.ini").read_text().replace("{port}", str(port)))
    proc = launch.start(bed.stack, "kinto", [str(launch.pyapp("kinto")), "start", "--ini", "kinto.ini"], work,
                        port=port, ready_path="/v1/__heartbeat__")
    api = proc.url + "/v1"
    (work / "swagger.json").write_text(httpx.get(api + "/__api__", timeout=10, trust_env=False).text)
    subprocess.run(launch.node_tool("swagger2openapi", "swagger2openapi.js") +
                   ["--patch", "-o", "openapi.json", "swagger.json"], cwd=work, check=True, capture_output=True)
    campaign, endpoints = init_campaign(work / "openapi.json", work, api, "kinto")
    seed = json.loads((src / "seed.json").read_text())
    with httpx.Client(base_url=api, auth=KINTO_USER, timeout=10.0, trust_env=False) as http:
        for bid, b in seed["buckets"].items():
            http.put(f"/buckets/{bid}", json={"data": b["data"]}).raise_for_status()
            for gid, members in b["groups"].items():
                http.put(f"/buckets/{bid}/groups/{gid}", json={"data": {"members": members}}).raise_for_status()
            for cid, records in b["collections"].items():
                http.put(f"/buckets/{bid}/collections/{cid}").raise_for_status()
                for r in records:
                    http.put(f"/buckets/{bid}/collections/{cid}/records/{r['id']}", json={"data": r}).raise_for_status()
    token = base64.b64encode(":".join(KINTO_USER).encode()).decode()
    return Target(CONFIG["kinto"], api, campaign, {ep["name"]: "real" for ep in endpoints}, count=kinto_counter(api),
                  health=no_5xx([api + "/__heartbeat__", api + "/"]), env={"BASICAUTH_CREDENTIALS": token})


def prism_dynamic_shop(bed: Bed) -> Target:
    spec = shop_spec(bed)
    work = bed.folder("prism-dynamic-shop")
    proc = launch.start(bed.stack, "prism-dynamic",
                        launch.node_tool("@stoplight/prism-cli", "dist/index.js") +
                        ["mock", "-d", "-h", "127.0.0.1", "-p", "{port}", str(spec)], work, ready_path="/api/health")
    campaign, endpoints = init_campaign(spec, work, proc.url, "shop-on-prism")
    return Target(CONFIG["prism-dynamic-shop"], proc.url, campaign, {ep["name"]: "mock" for ep in endpoints})


def json_server_1_blog(bed: Bed) -> Target:
    src, work = _copy_config(bed, "json-server-1-blog")
    proc = launch.start(bed.stack, "json-server-1",
                        launch.node_tool("json-server-1", "lib/bin.js") + ["--host", "127.0.0.1", "--port", "{port}",
                                                                           "db.json"],
                        work, ready_path="/profile")

    def count() -> Counts:
        return Counts(deletable={c: json_count(f"{proc.url}/{c}") for c in ("posts", "comments")})
    return Target(CONFIG["json-server-1-blog"], proc.url,
                  write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url), read_truth(src), count=count)


def wiremock_proxy_shop(bed: Bed) -> Target:
    src, work = _copy_config(bed, "wiremock-proxy-shop")
    shop = start_shop(bed, "shop-behind-wiremock")
    mapping = work / "mappings" / "proxy.json"
    mapping.write_text(mapping.read_text().replace("http://127.0.0.1:8000", shop.url))
    proc = launch.start(bed.stack, "wiremock-proxy",
                        ["java", "-jar", str(launch.wiremock_jar()), "--port", "{port}", "--bind-address", "127.0.0.1",
                         "--root-dir", ".", "--disable-banner"], work, ready_path="/__admin/health", timeout=90)
    return Target(CONFIG["wiremock-proxy-shop"], proc.url,
                  write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url), read_truth(src),
                  count=shop_counter(bed.work / "shop-behind-wiremock" / "shop.sqlite3"),
                  health=no_5xx([shop.url + "/api/health", shop.url + "/api/products"]))


def fastapi_inventory(bed: Bed) -> Target:
    src, work = _copy_config(bed, "fastapi-inventory")
    proc = launch.start(bed.stack, "fastapi-inventory",
                        launch.python_cmd("-m", "uvicorn", "--app-dir", str(work), "mock_app:app", "--host", "127.0.0.1",
                                          "--port", "{port}", "--log-level", "warning"),
                        work, ready_path="/healthz")
    return Target(CONFIG["fastapi-inventory"], proc.url,
                  write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url), read_truth(src))


def mockoon_openapi_shop(bed: Bed) -> Target:
    """Mockoon CLI started straight from the shop's OpenAPI spec (it builds routes from it)."""
    spec = shop_spec(bed)
    work = bed.folder("mockoon-openapi-shop")
    proc = launch.start(bed.stack, "mockoon-openapi",
                        launch.node_tool("@mockoon/cli", "bin/run.js") +
                        ["start", "--data", str(spec), "--port", "{port}", "--hostname", "127.0.0.1", "-X"],
                        work, ready_path="/api/health")
    campaign, endpoints = init_campaign(spec, work, proc.url, "shop-on-mockoon")
    return Target(CONFIG["mockoon-openapi-shop"], proc.url, campaign, {ep["name"]: "mock" for ep in endpoints})


def mockoon_crm(bed: Bed) -> Target:
    src, work = _copy_config(bed, "mockoon-crm")
    proc = launch.start(bed.stack, "mockoon-crm",
                        launch.node_tool("@mockoon/cli", "bin/run.js") +
                        ["start", "--data", "environment.json", "--port", "{port}", "--hostname", "127.0.0.1", "-X"],
                        work, ready_path="/v2/deals")

    def count() -> Counts:
        return Counts(deletable={c: json_count(f"{proc.url}/v2/{c}") for c in ("contacts", "deals")})
    return Target(CONFIG["mockoon-crm"], proc.url, write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url),
                  read_truth(src), count=count)


def library_canned(bed: Bed) -> Target:
    src = CONFIGS / "library-canned"
    work = bed.folder("library-canned")
    db = work / "library.sqlite3"
    proc = launch.start(bed.stack, "library", launch.python_cmd("-m", "tests.realbed.apps.library", "--port", "{port}",
                                                                "--db", str(db)), work, ready_path="/stats")

    def count() -> Counts:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            books = con.execute("SELECT count(*) FROM books").fetchone()[0]
            open_loans = con.execute("SELECT count(*) FROM loans WHERE returned_at IS NULL").fetchone()[0]
            loans = con.execute("SELECT count(*) FROM loans").fetchone()[0]
        return Counts(deletable={"books": books, "open_loans": open_loans}, residue={"loans": loans})
    return Target(CONFIG["library-canned"], proc.url, write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url),
                  read_truth(src), count=count, health=no_5xx([proc.url + "/stats", proc.url + "/books"]))


CONFIG: dict[str, Config] = {c.name: c for c in [
    Config("json-server-shop", "calibration", "json-server 0.17", "db.json + routes.json", json_server_shop),
    Config("mockoon-helpdesk", "calibration", "Mockoon CLI", "CRUD over data buckets, faker templating, rules",
           mockoon_helpdesk),
    Config("wiremock-payments", "calibration", "WireMock", "templated stubs, priorities, a scenario, a delay, catch-all",
           wiremock_payments),
    Config("prism-static-prefect", "calibration", "Prism", "static mock of Prefect's spec", prism_static_prefect),
    Config("mockoon-proxy-shop", "calibration", "Mockoon CLI", "proxy to the real shop, 4 routes stubbed",
           mockoon_proxy_shop),
    Config("shop-canned", "calibration", "real app", "real shop with 5 canned handlers", shop_canned),
    Config("shop-production", "calibration", "real app", "the canned shop as a production environment (no writes)",
           shop_production),
    Config("gateway-shop-production", "calibration", "nginx + json-server 1.x",
           "nginx gateway: /api/community/ to json-server, the rest to the real shop; production",
           gateway_shop_production),
    Config("gateway-hardened-shop-production", "calibration", "nginx + json-server 1.x",
           "the same gateway with X-Powered-By hidden and only the community collections routed; production",
           gateway_hardened_shop_production),
    Config("mockoon-proxy-shop-production", "calibration", "Mockoon CLI",
           "proxy to the real shop, 4 routes stubbed, as production (no writes)", mockoon_proxy_shop_production),
    Config("apimocker-proxy-shop", "calibration", "apimocker",
           "--proxy to the real shop, a new feature (wishlists, gift cards) stubbed from mock files",
           apimocker_proxy_shop),
    Config("apimocker-proxy-shop-no-server", "calibration", "apimocker",
           "--proxy to the real shop run without a Server header, a new feature stubbed",
           apimocker_proxy_shop_no_server),
    Config("apimocker-proxy-shop-production", "calibration", "apimocker",
           "--proxy to the real shop, a new feature stubbed, as production (no writes)",
           apimocker_proxy_shop_production),
    Config("shop-openapi", "calibration", "real app", "the shop probed from init --openapi on its own spec",
           shop_openapi),
    Config("prism-proxy-shop", "calibration", "Prism", "proxy mode in front of the real shop", prism_proxy_shop),
    Config("prism-proxy-shop-production", "calibration", "Prism",
           "proxy mode in front of the real shop, as production (no writes)", prism_proxy_shop_production),
    Config("express-lms", "calibration", "Express", "hand-rolled mock", express_lms),
    Config("prefect-server", "calibration", "real app", "Prefect server, campaign from its own spec", prefect_real),
    Config("prism-dynamic-shop", "heldout", "Prism", "dynamic (-d) mock of the shop's spec", prism_dynamic_shop),
    Config("json-server-1-blog", "heldout", "json-server 1.x", "db.json", json_server_1_blog),
    Config("wiremock-proxy-shop", "heldout", "WireMock", "proxy to the real shop, some routes stubbed",
           wiremock_proxy_shop),
    Config("fastapi-inventory", "heldout", "FastAPI", "hand-rolled mock", fastapi_inventory),
    Config("mockoon-openapi-shop", "heldout", "Mockoon CLI", "started from the shop's OpenAPI spec",
           mockoon_openapi_shop),
    Config("mockoon-crm", "heldout", "Mockoon CLI", "CRUD over buckets, templated routes reading them, a rule",
           mockoon_crm),
    Config("library-canned", "heldout", "real app", "a real library app with 3 canned handlers", library_canned),
    Config("kinto", "heldout", "real app", "Kinto (memory backend), campaign from its converted spec", kinto),
]}
