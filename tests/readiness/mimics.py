"""Python mimics of real mock servers and of typical hand-made mocks.

Headers and behaviours copy what the real tools were observed to send on
loopback (prism-cli 5.x static and ``-d``, json-server 0.17.4, WireMock
3.13.2 standalone, Mockoon CLI 9.9.0) — see tasks/readiness/signatures.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from email.utils import formatdate

import httpx
from http.server import BaseHTTPRequestHandler

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et "
         "dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea "
         "commodo consequat duis aute irure reprehenderit voluptate velit esse cillum fugiat nulla pariatur "
         "excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est").split()


def _raw_json(body, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None,
              indent: int | None = None) -> Response:
    data = json.dumps(body, indent=indent).encode()
    resp = Response(content=data, status_code=status)
    resp.raw_headers = list(headers or []) + [(b"content-length", str(len(data)).encode())]
    return resp


def _http_date() -> tuple[bytes, bytes]:
    return b"Date", formatdate(usegmt=True).encode()


# ---------------------------------------------------------------------------
# Prism (static and dynamic): "Date" capitalised, no Server header.
# ---------------------------------------------------------------------------

PRISM_CORS = [(b"Access-Control-Allow-Origin", b"*"), (b"Access-Control-Allow-Headers", b"*"),
              (b"Access-Control-Allow-Credentials", b"true"), (b"Access-Control-Expose-Headers", b"*")]


def _lorem(n: int) -> str:
    return " ".join(random.choice(LOREM) for _ in range(n))


def make_prism_app(dynamic: bool = False) -> Starlette:
    def product():
        if dynamic:
            p = {"id": random.randint(1, 99_999_999), "name": _lorem(random.randint(1, 3)),
                 "price": random.uniform(-1e8, 1e8),
                 "createdAt": f"{random.randint(1890, 2020)}-0{random.randint(1, 9)}-1{random.randint(0, 9)}T10:11:12.0Z"}
            if random.random() < 0.7:
                p["sku"] = _lorem(random.randint(2, 5))
            if random.random() < 0.7:
                p["inStock"] = random.random() < 0.5
            return p
        return {"id": 0, "name": "string", "price": 0, "sku": "string", "inStock": True,
                "createdAt": "2019-08-24T14:15:22Z"}

    def ok(body, status: int = 200) -> Response:
        return _raw_json(body, status, PRISM_CORS + [(b"Content-type", b"application/json"), _http_date()])

    async def get_product(request: Request) -> Response:
        return ok(product())

    async def list_products(request: Request) -> Response:
        n = random.randint(0, 4) if dynamic else 1
        return ok([product() for _ in range(n)])

    async def create_product(request: Request) -> Response:
        return ok(product(), 201)

    async def get_user(request: Request) -> Response:
        return ok({"id": "497f6eca-6276-4993-bfeb-53cbbbba6f08", "email": "user@example.com", "name": "string",
                   "createdAt": "2019-08-24T14:15:22Z"})

    async def not_found(request: Request, exc) -> Response:
        body = {"type": "https://stoplight.io/prism/errors#NO_PATH_MATCHED_ERROR",
                "title": "Route not resolved, no path matched", "status": 404,
                "detail": f"The route {request.url.path} hasn't been found in the specification file"}
        return _raw_json(body, 404, PRISM_CORS + [(b"content-type", b"application/problem+json"), _http_date()])

    return Starlette(routes=[
        Route("/api/products", list_products, methods=["GET"]),
        Route("/api/products", create_product, methods=["POST"]),
        Route("/api/products/{id}", get_product, methods=["GET"]),
        Route("/api/users/{id}", get_user, methods=["GET"]),
    ], exception_handlers={404: not_found, 405: not_found})


# ---------------------------------------------------------------------------
# json-server 0.17
# ---------------------------------------------------------------------------

def make_json_server_app() -> Starlette:
    db = {"products": [{"id": 1, "name": "Kettle", "price": 29.9}, {"id": 2, "name": "Toaster", "price": 39.0},
                       {"id": 3, "name": "Mixer", "price": 99.0}]}
    headers = [(b"X-Powered-By", b"Express"), (b"Vary", b"Origin, Accept-Encoding"),
               (b"Access-Control-Allow-Credentials", b"true"), (b"Cache-Control", b"no-cache"),
               (b"Pragma", b"no-cache"), (b"Expires", b"-1"), (b"X-Content-Type-Options", b"nosniff"),
               (b"Content-Type", b"application/json; charset=utf-8")]

    def out(body, status=200, extra=()):
        return _raw_json(body, status, headers + list(extra) + [_http_date()], indent=2)

    async def collection(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in db:
            return out({}, 404)
        if request.method == "POST":
            item = await request.json()
            item["id"] = max([i["id"] for i in db[name]] + [0]) + 1
            db[name].append(item)
            return out(item, 201, [(b"Location", f"http://{request.url.netloc}/{name}/{item['id']}".encode())])
        items = db[name]
        lim = request.query_params.get("_limit")
        total = [(b"X-Total-Count", str(len(items)).encode())] if lim else []
        return out(items[: int(lim)] if lim else items, 200, total)

    async def item(request: Request) -> Response:
        name, id_ = request.path_params["name"], request.path_params["id"]
        if request.method == "OPTIONS":  # the cors middleware answers every OPTIONS as a preflight
            return Response(status_code=204, headers={"X-Powered-By": "Express", "Vary": "Access-Control-Request-"
                                                      "Headers", "Access-Control-Allow-Methods":
                                                      "GET,HEAD,PUT,PATCH,POST,DELETE"})
        for it in db.get(name, []):
            if str(it["id"]) == id_:
                if request.method == "DELETE":
                    db[name].remove(it)
                    return out({})
                return out(it)
        return out({}, 404)

    async def home(request: Request) -> Response:
        return HTMLResponse("<html><head><title>JSON Server</title></head><body>Congrats!</body></html>")

    return Starlette(routes=[Route("/", home), Route("/{name}", collection, methods=["GET", "POST"]),
                             Route("/{name}/{id}", item, methods=["GET", "DELETE", "OPTIONS"])])


# ---------------------------------------------------------------------------
# WireMock
# ---------------------------------------------------------------------------

def make_wiremock_app() -> Starlette:
    """WireMock 3 sends neither Date nor Server."""
    stubs = [
        ("GET", re.compile(r"^/api/products/\d+$"), "3c0e7a52-1f1e-4e5e-9b0a-6a1f1d1c2b3a", None, 0.0,
         {"id": 1, "name": "Kettle", "price": 29.9}, 200),
        ("GET", re.compile(r"^/api/products$"), "71ca18e1-1460-436c-87e6-c0a17df6aa1e", "list products", 0.0,
         [{"id": 1, "name": "Kettle"}, {"id": 2, "name": "Toaster"}], 200),
        ("POST", re.compile(r"^/api/products$"), "e6823c3a-75cd-4ff5-8994-12ce6fff2a81", None, 0.0,
         {"id": 77, "name": "Kettle"}, 201),
        ("GET", re.compile(r"^/api/slow$"), "d85733b8-561e-4376-b67a-6ac4f10c6cf9", None, 0.12, {"ok": True}, 200),
    ]

    async def handle(request: Request) -> Response:
        for method, rx, sid, name, delay, body, status in stubs:
            if request.method == method and rx.match(request.url.path):
                if delay:
                    await asyncio.sleep(delay)
                hdrs = [(b"Content-Type", b"application/json"), (b"Matched-Stub-Id", sid.encode())]
                if name:
                    hdrs.append((b"Matched-Stub-Name", name.encode()))
                return _raw_json(body, status, hdrs)
        return PlainTextResponse("\n" + " " * 47 + "Request was not matched\n" + " " * 47 + "=" * 23 + "\n",
                                 status_code=404)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])


# ---------------------------------------------------------------------------
# Mockoon (hand-written environment: templated id echo, static rest)
# ---------------------------------------------------------------------------

MOCKOON_CORS = [(b"Access-Control-Allow-Origin", b"*"),
                (b"Access-Control-Allow-Methods", b"GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"),
                (b"Access-Control-Allow-Headers",
                 b"Content-Type, Origin, Accept, Authorization, Content-Length, X-Requested-With"),
                (b"Content-Type", b"application/json; charset=utf-8")]


def make_mockoon_app() -> Starlette:
    """Mockoon: Express with x-powered-by disabled, Node's capitalised Date."""
    async def order(request: Request) -> Response:
        oid = request.path_params["id"]
        return _raw_json({"id": oid, "status": "shipped", "total": 99.5, "currency": "EUR"}, 200,
                         MOCKOON_CORS + [_http_date()], indent=2)

    async def fallback(request: Request) -> Response:
        return HTMLResponse(f"<pre>Cannot {request.method} {request.url.path}</pre>", status_code=404,
                            headers={"Access-Control-Allow-Origin": "*"})

    return Starlette(routes=[Route("/api/orders/{id}", order),
                             Route("/{path:path}", fallback, methods=["GET", "POST"])])


# ---------------------------------------------------------------------------
# Hand-made mocks (FastAPI-style, served by uvicorn)
# ---------------------------------------------------------------------------

def make_handmade_app() -> Starlette:
    state = {"writes": 0}

    async def canned_product(request: Request) -> Response:
        return JSONResponse({"id": 1, "name": "Wireless Mouse", "price": 24.99, "stock": 140})

    async def canned_list(request: Request) -> Response:
        return JSONResponse({"items": [{"id": 1, "name": "Wireless Mouse"}, {"id": 2, "name": "USB Hub"},
                                       {"id": 3, "name": "Webcam"}], "total": 3})

    async def slow_report(request: Request) -> Response:
        await asyncio.sleep(0.12)  # "realistic" latency, the classic fixed sleep
        return JSONResponse({"report_id": request.path_params["id"], "rows": 42, "status": "ready"})

    async def create_order(request: Request) -> Response:
        state["writes"] += 1
        await request.body()
        return JSONResponse({"id": 1001, "status": "created"}, status_code=201)

    async def list_orders(request: Request) -> Response:
        return JSONResponse([{"id": 1, "status": "paid"}, {"id": 2, "status": "shipped"}])

    async def get_order(request: Request) -> Response:
        oid = request.path_params["id"]
        if oid in ("1", "2"):
            return JSONResponse({"id": int(oid), "status": "paid" if oid == "1" else "shipped"})
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    async def patch_product(request: Request) -> Response:
        state["writes"] += 1
        await request.body()
        return JSONResponse({"id": 1, "name": "Wireless Mouse", "price": 24.99, "stock": 140})

    async def article(request: Request) -> Response:
        aid = request.path_params["id"]
        return JSONResponse({"id": int(aid) if aid.isdigit() else aid, "title": "Lorem ipsum dolor sit amet",
                             "summary": "Consectetur adipiscing elit, sed do eiusmod tempor incididunt",
                             "body": "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
                                     "tempor incididunt ut labore et dolore magna aliqua.",
                             "author": "John Doe"})

    first = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Zoe", "Hugo"]
    last = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]

    async def faker_customer(request: Request) -> Response:
        f, l = random.choice(first), random.choice(last)
        return JSONResponse({"id": random.randint(1000, 99999), "name": f"{f} {l}",
                             "email": f"{f.lower()}.{l.lower()}{random.randint(1, 99)}@mail.com",
                             "city": random.choice(["Lyon", "Paris", "Nantes", "Lille", "Nice"]),
                             "balance": round(random.uniform(-500, 5000), 2), "vip": random.random() < 0.3})

    async def todo(request: Request) -> Response:
        return JSONResponse({"message": "Not implemented yet"})

    forecast = {"sku": "SKU-00042", "horizon_days": 7, "model_version": "2.3.1",
                "generated_at": "2024-03-01T06:00:00Z", "confidence": 0.92,
                "forecast": [{"date": f"2024-03-{d:02d}", "units": u}
                             for d, u in zip(range(1, 8), (120, 118, 125, 131, 140, 152, 149))],
                "total_units": 935}

    async def canned_forecast(request: Request) -> Response:
        # RPC-style POST: the same canned forecast whatever the sku, after a "realistic" sleep
        await request.body()
        await asyncio.sleep(0.12)
        return JSONResponse(forecast)

    inbox = [{"id": i, "title": "Sample notification", "type": t, "read": r, "body": b,
              "created_at": "2024-01-01T00:00:00Z"}
             for i, t, r, b in ((1, "info", False, "Lorem ipsum dolor sit amet, consectetur adipiscing elit."),
                                (2, "info", False, "Lorem ipsum dolor sit amet, sed do eiusmod tempor."),
                                (3, "warning", True, "Lorem ipsum dolor sit amet."))]

    async def canned_inbox(request: Request) -> Response:
        # one fixed placeholder list for every caller, the bearer token is never looked at
        return JSONResponse(inbox)

    return Starlette(routes=[
        Route("/api/products", canned_list), Route("/api/products/{id}", canned_product),
        Route("/api/products/{id}", patch_product, methods=["PATCH"]),
        Route("/api/reports/{id}", slow_report),
        Route("/api/orders", create_order, methods=["POST"]), Route("/api/orders", list_orders),
        Route("/api/orders/{id}", get_order),
        Route("/api/articles/{id}", article), Route("/api/customers/{id}", faker_customer),
        Route("/api/refunds", todo, methods=["GET", "POST"]),
        Route("/api/forecast", canned_forecast, methods=["POST"]),
        Route("/api/inbox", canned_inbox),
    ])


def make_fixed_sleep_app(sleep_s: float = 0.2) -> Starlette:
    """A hand-made mock whose two routes sleep a fixed time while everything
    else on the host answers at once: a canned report for any id (GET) and a
    canned price quote for any sku (POST, creates nothing)."""
    quote = {"currency": "EUR", "subtotal": 49.9, "vat": 9.98, "total": 59.88,
             "lines": [{"label": "Wireless Mouse", "qty": 2, "amount": 49.9}], "valid_until": "2024-06-30"}

    async def report(request: Request) -> Response:
        await asyncio.sleep(sleep_s)
        return JSONResponse({"report_id": 1, "rows": 42, "status": "ready", "title": "Weekly sales"})

    async def price_quote(request: Request) -> Response:
        await request.body()
        await asyncio.sleep(sleep_s)
        return JSONResponse(quote)

    return Starlette(routes=[Route("/api/reports/{id}", report),
                             Route("/api/quote", price_quote, methods=["POST"])])


class BaseHttpMock(BaseHTTPRequestHandler):
    """The 5-minute mock: python http.server, catch-all, canned JSON."""

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        body = json.dumps({"status": "ok", "data": {"id": 1, "name": "foo", "description": "bar",
                                                    "owner": "test@test.com"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# ---------------------------------------------------------------------------
# Hosted-tool fingerprints (Postman mock, MSW)
# ---------------------------------------------------------------------------

def make_postman_app() -> Starlette:
    trace = [(b"x-srv-trace", b"v=1;t=ada7cefb43c4848d"), (b"x-srv-span", b"v=1;s=4221c976c3e1b0fe"),
             (b"Content-Type", b"application/json; charset=utf-8")]

    async def pet(request: Request) -> Response:
        return _raw_json({"id": 1, "name": "doggie", "status": "available"}, 200, trace)

    async def nf(request: Request) -> Response:
        return _raw_json({"error": {"name": "mockRequestNotFoundError",
                                    "message": "Double check your method and the request path and try again.",
                                    "header": "No matching requests"}}, 404, trace)

    return Starlette(routes=[Route("/pet/{id}", pet), Route("/{path:path}", nf)])


# ---------------------------------------------------------------------------
# Mock tools relaying a real backend: `prism proxy` and Mockoon's proxy mode
# ---------------------------------------------------------------------------

def make_relay_app(upstream: str, tool: str) -> Starlette:
    """Relay every request to *upstream* the way the tool does: the backend's
    headers in lower case (node-fetch / http-proxy), plus the tool's own
    (Prism: its CORS set and an sl-violations warning; Mockoon: its default
    CORS headers)."""
    extra = {"prism": PRISM_CORS + [(b"sl-violations",
                                     b'[{"location":["request"],"severity":"Warning",'
                                     b'"message":"Selected route not found"}]')],
             "mockoon": [h for h in MOCKOON_CORS if h[0] != b"Content-Type"]}[tool]
    hop = {"connection", "keep-alive", "transfer-encoding", "content-length"}

    async def relay(request: Request) -> Response:
        async with httpx.AsyncClient(trust_env=False) as client:
            up = await client.request(request.method, upstream + request.url.path
                                      + (f"?{request.url.query}" if request.url.query else ""),
                                      content=await request.body(),
                                      headers={k: v for k, v in request.headers.items() if k.lower() != "host"})
        resp = Response(content=up.content, status_code=up.status_code)
        resp.raw_headers = list(extra) + [(k.lower().encode(), v.encode()) for k, v in up.headers.items()
                                          if k.lower() not in hop] + [(b"content-length", str(len(up.content)).encode())]
        return resp

    return Starlette(routes=[Route("/{path:path}", relay, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
