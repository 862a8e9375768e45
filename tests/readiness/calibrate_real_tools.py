"""Calibrate the readiness engine against the *real* mock tools (not run by pytest).

Install the tools outside the repo, then run this script; it starts every
tool on a free 127.0.0.1 port, probes it, prints what each endpoint got and
stops everything::

    mkdir -p /tmp/mocks && cd /tmp/mocks && npm init -y
    npm i @stoplight/prism-cli json-server@0.17.4 @mockoon/cli wiremock
    # optional, json-server 1.x in its own folder:
    mkdir -p js1 && (cd js1 && npm init -y && npm i json-server@1.0.0-beta.15)
    /work/main/.venv/bin/python -m tests.readiness.calibrate_real_tools --tools /tmp/mocks

WireMock runs from the standalone jar the ``wiremock`` npm package ships
(``java`` 11+ needed).  Exit status 1 if a real endpoint is called "mock" or
a mock endpoint is not caught.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import httpx

from tasks.readiness import ProbeTarget, check_endpoints
from tests.readiness.real_service import make_real_app
from tests.readiness.servers import serve_asgi

SPEC = """openapi: 3.0.3
info: {title: Shop, version: "1.0"}
paths:
  /api/products:
    get:
      parameters: [{name: limit, in: query, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Product"}}}}}
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Product"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Product"}}}}
  /api/products/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Product"}}}}
        "404": {description: not found}
  /api/users/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/User"}}}}
  /api/orders/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {id: {type: integer}, status: {type: string}, total: {type: number}}}
              example: {id: 42, status: shipped, total: 99.5}
components:
  schemas:
    Product:
      type: object
      required: [name, price]
      properties:
        id: {type: integer}
        name: {type: string}
        price: {type: number}
        sku: {type: string}
        stock: {type: integer}
        created_at: {type: string, format: date-time}
    User:
      type: object
      properties:
        id: {type: integer}
        uuid: {type: string, format: uuid}
        name: {type: string}
        email: {type: string, format: email}
"""

DB = {"products": [{"id": 1, "name": "Kettle", "price": 29.9}, {"id": 2, "name": "Toaster", "price": 39.0},
                   {"id": 3, "name": "Mixer", "price": 99.0}]}

WIREMOCK = {"mappings": [
    {"request": {"method": "GET", "urlPathPattern": "/api/products/[0-9]+"},
     "response": {"status": 200, "jsonBody": {"id": 1, "name": "Kettle", "price": 29.9},
                  "headers": {"Content-Type": "application/json"}}},
    {"name": "list products", "request": {"method": "GET", "urlPath": "/api/products"},
     "response": {"status": 200, "jsonBody": [{"id": 1, "name": "Kettle"}, {"id": 2, "name": "Toaster"}],
                  "headers": {"Content-Type": "application/json"}}},
    {"request": {"method": "POST", "urlPath": "/api/products"},
     "response": {"status": 201, "jsonBody": {"id": 77, "name": "Kettle"},
                  "headers": {"Content-Type": "application/json"}}},
    {"request": {"method": "GET", "urlPath": "/api/slow"},
     "response": {"status": 200, "fixedDelayMilliseconds": 120, "jsonBody": {"ok": True},
                  "headers": {"Content-Type": "application/json"}}},
]}


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port: int, timeout: float = 40.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0, trust_env=False)
            return True
        except httpx.HTTPError:
            time.sleep(0.3)
    return False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", default="/tmp/mocks", help="folder holding node_modules with the tools")
    args = ap.parse_args()
    bin_ = os.path.join(args.tools, "node_modules", ".bin")
    work = tempfile.mkdtemp(prefix="readiness-cal-")
    with open(os.path.join(work, "openapi.yaml"), "w") as f:
        f.write(SPEC)
    with open(os.path.join(work, "db.json"), "w") as f:
        json.dump(DB, f)
    os.makedirs(os.path.join(work, "wm", "mappings"))
    with open(os.path.join(work, "wm", "mappings", "stubs.json"), "w") as f:
        json.dump(WIREMOCK, f)

    real = serve_asgi(make_real_app())
    procs: list[subprocess.Popen] = []
    ports: dict[str, int] = {}

    def start(name: str, cmd: list[str]) -> None:
        if not os.path.exists(cmd[0]) and not shutil.which(cmd[0]):
            print(f"skip {name}: {cmd[0]} not found")
            return
        port = free_port()
        cmd = [c.replace("__PORT__", str(port)) for c in cmd]
        log = open(os.path.join(work, f"{name}.log"), "w")
        procs.append(subprocess.Popen(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT))
        ports[name] = port

    spec = os.path.join(work, "openapi.yaml")
    start("prism", [f"{bin_}/prism", "mock", "-h", "127.0.0.1", "-p", "__PORT__", spec])
    start("prism-dynamic", [f"{bin_}/prism", "mock", "-d", "-h", "127.0.0.1", "-p", "__PORT__", spec])
    start("prism-proxy", [f"{bin_}/prism", "proxy", "-h", "127.0.0.1", "-p", "__PORT__", spec, real.url])
    start("json-server", [f"{bin_}/json-server", "--host", "127.0.0.1", "--port", "__PORT__", "db.json"])
    js1 = os.path.join(args.tools, "js1", "node_modules", ".bin", "json-server")
    if os.path.exists(js1):
        shutil.copy(os.path.join(work, "db.json"), os.path.join(work, "db1.json"))
        start("json-server-1", [js1, "--host", "127.0.0.1", "--port", "__PORT__", "db1.json"])
    start("mockoon", [f"{bin_}/mockoon-cli", "start", "--data", spec, "--port", "__PORT__", "--hostname",
                      "127.0.0.1"])
    jars = glob.glob(os.path.join(args.tools, "**", "wiremock-standalone-*.jar"), recursive=True)
    if jars and shutil.which("java"):
        start("wiremock", ["java", "-jar", jars[0], "--port", "__PORT__", "--bind-address", "127.0.0.1",
                           "--root-dir", "wm", "--disable-banner"])
    try:
        for name, port in ports.items():
            if not wait_port(port):
                print(f"{name} did not start (see {work}/{name}.log)")
        u = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
        T = ProbeTarget
        body = {"name": "Widget", "price": 12.5}
        plan: list[tuple[str, ProbeTarget]] = [
            ("real", T("real product", "GET", f"{real.url}/api/products/{{id}}", {"id": [1, 2, 3]})),
            ("real", T("real list", "GET", f"{real.url}/api/products?limit=5", {})),
            ("real", T("real create", "POST", f"{real.url}/api/products", {}, body=body)),
        ]
        for tool in ("prism", "prism-dynamic", "mockoon"):
            if tool in u:
                plan += [("mock", T(f"{tool} product", "GET", f"{u[tool]}/api/products/{{id}}", {"id": [1, 2, 3]})),
                         ("mock", T(f"{tool} list", "GET", f"{u[tool]}/api/products?limit=10", {})),
                         ("mock", T(f"{tool} user", "GET", f"{u[tool]}/api/users/{{id}}", {"id": [1, 2]})),
                         ("mock", T(f"{tool} example", "GET", f"{u[tool]}/api/orders/{{id}}", {"id": [7, 8]})),
                         ("mock", T(f"{tool} create", "POST", f"{u[tool]}/api/products", {},
                                    body={**body, "id": 5}))]
        if "prism-proxy" in u:
            plan += [("real", T("prism-proxy product", "GET", f"{u['prism-proxy']}/api/products/{{id}}",
                                {"id": [1, 2, 3]})),
                     ("real", T("prism-proxy create", "POST", f"{u['prism-proxy']}/api/products", {}, body=body))]
        for tool in ("json-server", "json-server-1"):
            if tool in u:
                plan += [("mock", T(f"{tool} product", "GET", f"{u[tool]}/products/{{id}}", {"id": [1, 2, 3]})),
                         ("mock", T(f"{tool} list", "GET", f"{u[tool]}/products?_limit=2", {})),
                         ("mock", T(f"{tool} create", "POST", f"{u[tool]}/products", {}, body=body))]
        if "wiremock" in u:
            w = u["wiremock"]
            plan += [("mock", T("wiremock product", "GET", f"{w}/api/products/{{id}}", {"id": [1, 2, 3]})),
                     ("mock", T("wiremock list", "GET", f"{w}/api/products?limit=5", {})),
                     ("mock", T("wiremock create", "POST", f"{w}/api/products", {}, body=body)),
                     ("mock", T("wiremock slow", "GET", f"{w}/api/slow", {})),
                     ("missing", T("wiremock unstubbed", "GET", f"{w}/api/nope", {}))]
        results = asyncio.run(check_endpoints([t for _, t in plan]))
        bad = 0
        for (expected, _), v in zip(plan, results):
            ok = v.verdict == expected
            bad += not ok
            top = "; ".join(f"{e.signal}({e.weight:g})" for e in v.evidence[:4])
            print(f"{'ok ' if ok else 'BAD'} {v.name:24s} {v.verdict:8s} {v.confidence:.2f} {v.status_code} "
                  f"req={v.requests:2d}  {top}")
        return 1 if bad else 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        real.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
