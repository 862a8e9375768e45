"""Every configuration of the bed, in one registry (``CONFIGS``), by group.

Calibration: json-server 0.17, Mockoon CRUD + templating, WireMock templated + priorities +
scenarios, Prism static on Prefect's spec, Mockoon proxy in front of the real shop, the real shop
with canned handlers, a hand-rolled Express mock, the real Prefect server.
Held out: Prism dynamic on the shop's spec, json-server 1.x, WireMock proxy in front of the real
shop, a hand-rolled FastAPI mock, Mockoon started from an OpenAPI spec.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.realbed import launch
from tests.realbed.bed import (CONFIGS, Bed, Config, Counts, Target, init_campaign, json_count, no_5xx,
                               prefect_server, read_truth, shop_counter, shop_spec, start_shop, every_nth,
                               write_campaign)


def _copy_config(bed: Bed, name: str) -> tuple[Path, Path]:
    src = CONFIGS / name
    dest = bed.folder(name)
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
    src, work = _copy_config(bed, "mockoon-proxy-shop")
    shop = start_shop(bed, "shop-behind-mockoon")
    env = json.loads((work / "environment.json").read_text())
    env["proxyHost"] = shop.url
    (work / "environment.json").write_text(json.dumps(env, indent=2))
    proc = launch.start(bed.stack, "mockoon-proxy",
                        launch.node_tool("@mockoon/cli", "bin/run.js") +
                        ["start", "--data", "environment.json", "--port", "{port}", "--hostname", "127.0.0.1", "-X"],
                        work, ready_path="/api/health")
    return Target(CONFIG["mockoon-proxy-shop"], proc.url,
                  write_campaign(src / "campaign.yaml", work / "run.yaml", proc.url), read_truth(src),
                  count=shop_counter(bed.work / "shop-behind-mockoon" / "shop.sqlite3"),
                  health=no_5xx([shop.url + "/api/health", shop.url + "/api/products"]))


def shop_canned(bed: Bed) -> Target:
    src = CONFIGS / "shop-canned"
    shop = start_shop(bed, "shop-canned")
    return Target(CONFIG["shop-canned"], shop.url,
                  write_campaign(src / "campaign.yaml", bed.folder("shop-canned") / "run.yaml", shop.url),
                  read_truth(src), count=shop_counter(bed.work / "shop-canned" / "shop.sqlite3"),
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


def prefect_real(bed: Bed) -> Target:
    """The Prefect server itself, probed from the campaign ``init --openapi`` writes from its own
    spec: every documented operation exists and is real."""
    server = prefect_server(bed)
    work = bed.folder("prefect-server")
    campaign, endpoints = init_campaign(server.spec, work, server.api, "prefect")

    def health() -> str | None:
        problem = no_5xx([server.api + "/health", server.api + "/version"])()
        events = server.events()
        if problem is None and events > 2000:
            problem = f"{events} events stored (an automation storm?)"
        return problem
    return Target(CONFIG["prefect-server"], server.api, campaign, {ep["name"]: "real" for ep in endpoints},
                  count=server.count, health=health)


# ---- held out -------------------------------------------------------------------------------------

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
    Config("express-lms", "calibration", "Express", "hand-rolled mock", express_lms),
    Config("prefect-server", "calibration", "real app", "Prefect server, campaign from its own spec", prefect_real),
    Config("prism-dynamic-shop", "heldout", "Prism", "dynamic (-d) mock of the shop's spec", prism_dynamic_shop),
    Config("json-server-1-blog", "heldout", "json-server 1.x", "db.json", json_server_1_blog),
    Config("wiremock-proxy-shop", "heldout", "WireMock", "proxy to the real shop, some routes stubbed",
           wiremock_proxy_shop),
    Config("fastapi-inventory", "heldout", "FastAPI", "hand-rolled mock", fastapi_inventory),
    Config("mockoon-openapi-shop", "heldout", "Mockoon CLI", "started from the shop's OpenAPI spec",
           mockoon_openapi_shop),
]}
