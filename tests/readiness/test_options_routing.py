"""Writes: is the write's path routed to the mock tool?

A gateway mimic on one loopback port serves two pieces of software, each writing its own header set
(``serve_raw_asgi`` keeps them verbatim): a Mockoon-like stub under ``/api/community/`` and a real
backend for the rest. Readiness sends ``OPTIONS`` (a safe request) on the unsent writes and on a few
reads of each side; no write may reach the target."""

from __future__ import annotations

import asyncio
import json

from tasks.readiness import ProbeTarget
from tasks.readiness.engine import run_readiness

from .servers import serve_raw_asgi

PRODUCTS = {1: {"id": 1, "name": "Kettle", "stock": 4}, 2: {"id": 2, "name": "Toaster", "stock": 9}}
REVIEWS = [{"id": 1, "product_id": 1, "rating": 5, "text": "Great"}, {"id": 2, "product_id": 2, "rating": 3,
                                                                       "text": "Fine"}]


def _mock_headers() -> list[tuple[bytes, bytes]]:
    return [(b"Content-Type", b"application/json; charset=utf-8"),
            (b"X-Mockoon-Route-Uuid", b"4c1d6a0e-2f7b-4c55-9d0e-3c2f9a1b7e10"),
            (b"Date", b"Mon, 07 Dec 2026 21:00:00 GMT"), (b"Connection", b"keep-alive"), (b"Keep-Alive", b"timeout=5")]


def _real_headers() -> list[tuple[bytes, bytes]]:
    return [(b"date", b"Mon, 07 Dec 2026 21:00:00 GMT"), (b"server", b"uvicorn"),
            (b"content-type", b"application/json")]


def gateway(seen: list[str], *, tool_answers_every_preflight: bool):
    async def app(scope, receive, send):
        method, path = scope["method"], scope["path"].rstrip("/")
        seen.append(f"{method} {path}")
        mock_side = path.startswith("/api/community")
        if method == "OPTIONS":
            if mock_side or tool_answers_every_preflight:  # the stub tool's CORS preflight
                headers = [(b"Access-Control-Allow-Origin", b"*"), (b"Date", b"Mon, 07 Dec 2026 21:00:00 GMT"),
                           (b"Connection", b"keep-alive"), (b"Keep-Alive", b"timeout=5")]
                await send({"type": "http.response.start", "status": 204, "headers": headers})
            else:
                await send({"type": "http.response.start", "status": 200,
                            "headers": _real_headers() + [(b"allow", b"GET, POST")]})
            await send({"type": "http.response.body", "body": b""})
            return
        status, body = 404, {"detail": "Not Found"}
        if mock_side:
            if path == "/api/community/reviews":
                status, body = 200, REVIEWS
            elif path.startswith("/api/community/reviews/"):
                status, body = 200, REVIEWS[0]  # the stub answers the same review for any id
        elif path == "/api/products":
            status, body = 200, list(PRODUCTS.values())
        elif path.startswith("/api/products/"):
            tail = path.rsplit("/", 1)[1]
            if tail.isdigit() and int(tail) in PRODUCTS:
                status, body = 200, PRODUCTS[int(tail)]
            else:
                body = {"detail": "Product not found"}
        headers = _mock_headers() if mock_side else _real_headers()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})
    return app


def _production(*, tool_answers_every_preflight: bool) -> tuple[dict, list[str]]:
    """Readiness over the gateway as a production environment: the verdicts by name, and every
    request the gateway saw."""
    seen: list[str] = []
    server = serve_raw_asgi(gateway(seen, tool_answers_every_preflight=tool_answers_every_preflight))
    url = server.url
    targets = [ProbeTarget("products", "GET", f"{url}/api/products"),
               ProbeTarget("product", "GET", f"{url}/api/products/{{id}}", {"id": ["1", "2"]}),
               ProbeTarget("create-product", "POST", f"{url}/api/products", body={"name": "Grill", "stock": 1}),
               ProbeTarget("reviews", "GET", f"{url}/api/community/reviews"),
               ProbeTarget("review", "GET", f"{url}/api/community/reviews/{{id}}", {"id": ["1", "2"]}),
               ProbeTarget("post-review", "POST", f"{url}/api/community/reviews",
                           body={"product_id": 1, "rating": 4, "text": "Good"})]
    try:
        report = asyncio.run(run_readiness(targets, samples=3, allow_writes=False,
                                           why_no_writes="environment 'production' does not allow writes"))
    finally:
        server.stop()
    return {v.name: v for v in report.verdicts}, seen


def _writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.split()[0] in ("POST", "PUT", "PATCH", "DELETE")]


def test_an_unsent_write_whose_path_the_gateway_routes_to_the_mock_tool_is_mock():
    by, seen = _production(tool_answers_every_preflight=False)
    assert by["reviews"].verdict == "mock" and by["products"].verdict == "real"
    assert by["post-review"].verdict == "mock", by["post-review"].to_dict()
    assert "routes this path to the mock tool" in by["post-review"].reason
    assert by["create-product"].verdict == "unverified", by["create-product"].to_dict()  # never "real" unsent
    assert _writes(seen) == []
    # the reads of each side were asked OPTIONS, nothing else was added
    assert "OPTIONS /api/products" in seen and "OPTIONS /api/community/reviews" in seen


def test_a_tool_answering_every_preflight_itself_proves_nothing():
    """A stub tool in proxy mode answers OPTIONS on every path, relayed ones included: the write
    may still go to the real backend, so it stays unverified."""
    by, seen = _production(tool_answers_every_preflight=True)
    assert by["reviews"].verdict == "mock" and by["products"].verdict == "real"
    assert by["post-review"].verdict == "unverified", by["post-review"].to_dict()
    assert by["create-product"].verdict == "unverified", by["create-product"].to_dict()
    assert _writes(seen) == []


def dev_gateway(seen: list[str]):
    """The same gateway in a dev environment: the stub side has no tool header at all (a template
    tool: the same review for any id, a random vote count, a POST that answers a random id and
    keeps nothing); the real side stores and deletes products."""
    import random

    products = {k: dict(v) for k, v in PRODUCTS.items()}

    async def app(scope, receive, send):
        method, path = scope["method"], scope["path"].rstrip("/")
        seen.append(f"{method} {path}")
        mock_side = path.startswith("/api/community")
        body_in = b""
        while True:
            msg = await receive()
            body_in += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        stub = [(b"Content-Type", b"application/json; charset=utf-8"), (b"Date", b"Mon, 07 Dec 2026 21:00:00 GMT"),
                (b"Connection", b"keep-alive"), (b"Keep-Alive", b"timeout=5")]
        if method == "OPTIONS":
            headers = stub[1:] + [(b"Access-Control-Allow-Origin", b"*")] if mock_side else \
                _real_headers() + [(b"allow", b"GET, POST, DELETE")]
            await send({"type": "http.response.start", "status": 204 if mock_side else 200, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        status, body = 404, {"detail": "Not Found"}
        if mock_side:
            if method == "DELETE":
                status, body = 204, None
            elif path == "/api/community/reviews" and method == "POST":
                status, body = 201, {"id": random.randint(10000, 99999), "rating": 4}
            elif path == "/api/community/reviews":
                status, body = 200, REVIEWS
            elif path.startswith("/api/community/reviews/"):
                tail = path.rsplit("/", 1)[1]
                status, body = 200, {**REVIEWS[0], "id": int(tail) if tail.isdigit() else tail,
                                     "votes": random.randint(1, 10**6)}
        elif path == "/api/products" and method == "POST":
            new = {"id": max(products) + 1, **json.loads(body_in or b"{}")}
            products[new["id"]] = new
            status, body = 201, new
        elif path == "/api/products":
            status, body = 200, list(products.values())
        elif path.startswith("/api/products/"):
            tail = path.rsplit("/", 1)[1]
            pid = int(tail) if tail.isdigit() else None
            if pid in products and method == "DELETE":
                del products[pid]
                status, body = 204, None
            elif pid in products:
                status, body = 200, products[pid]
            else:
                body = {"detail": "Product not found"}
        headers = stub if mock_side else _real_headers()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if body is None else json.dumps(body).encode()})
    return app, products


def test_a_sent_write_routed_to_the_stub_is_mock_a_stored_one_stays_real():
    seen: list[str] = []
    app, products = dev_gateway(seen)
    before = dict(products)
    server = serve_raw_asgi(app)
    try:
        u = server.url
        targets = [ProbeTarget("products", "GET", f"{u}/api/products"),
                   ProbeTarget("product", "GET", f"{u}/api/products/{{id}}", {"id": ["1", "2"]}),
                   ProbeTarget("create-product", "POST", f"{u}/api/products", body={"name": "Grill", "stock": 1}),
                   ProbeTarget("delete-product", "DELETE", f"{u}/api/products/{{id}}", {"id": ["2"]}),
                   ProbeTarget("reviews", "GET", f"{u}/api/community/reviews"),
                   ProbeTarget("review", "GET", f"{u}/api/community/reviews/{{id}}", {"id": ["1", "2"]}),
                   ProbeTarget("post-review", "POST", f"{u}/api/community/reviews",
                               body={"product_id": 1, "rating": 4, "text": "Good"}),
                   ProbeTarget("delete-review", "DELETE", f"{u}/api/community/reviews/{{id}}", {"id": ["2"]})]
        report = asyncio.run(run_readiness(targets, samples=5))
    finally:
        server.stop()
    by = {v.name: v for v in report.verdicts}
    assert by["review"].verdict == "mock", by["review"].to_dict()
    assert by["post-review"].verdict == "mock", by["post-review"].to_dict()
    # a DELETE the stub answers 204 for any id is only a hint on its own (idempotent DELETEs exist);
    # its path is routed to the stub
    assert by["delete-review"].verdict == "mock", by["delete-review"].to_dict()
    assert "routes this path to the mock tool" in by["delete-review"].reason
    assert by["create-product"].verdict == "real", by["create-product"].to_dict()
    assert by["delete-product"].verdict == "real", by["delete-product"].to_dict()
    assert "OPTIONS /api/community/reviews" in seen
    assert products == before  # what the probes created is gone, and nothing of the team's was deleted
