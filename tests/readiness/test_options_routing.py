"""Writes that production never sends: is the write's path routed to the mock tool?

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


def _production(url: str):
    targets = [ProbeTarget("products", "GET", f"{url}/api/products"),
               ProbeTarget("product", "GET", f"{url}/api/products/{{id}}", {"id": ["1", "2"]}),
               ProbeTarget("create-product", "POST", f"{url}/api/products", body={"name": "Grill", "stock": 1}),
               ProbeTarget("reviews", "GET", f"{url}/api/community/reviews"),
               ProbeTarget("review", "GET", f"{url}/api/community/reviews/{{id}}", {"id": ["1", "2"]}),
               ProbeTarget("post-review", "POST", f"{url}/api/community/reviews",
                           body={"product_id": 1, "rating": 4, "text": "Good"})]
    report = asyncio.run(run_readiness(targets, samples=3, allow_writes=False,
                                       why_no_writes="environment 'production' does not allow writes"))
    return {v.name: v for v in report.verdicts}


def _writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.split()[0] in ("POST", "PUT", "PATCH", "DELETE")]


def test_an_unsent_write_whose_path_the_gateway_routes_to_the_mock_tool_is_mock():
    seen: list[str] = []
    server = serve_raw_asgi(gateway(seen, tool_answers_every_preflight=False))
    try:
        by = _production(server.url)
    finally:
        server.stop()
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
    seen: list[str] = []
    server = serve_raw_asgi(gateway(seen, tool_answers_every_preflight=True))
    try:
        by = _production(server.url)
    finally:
        server.stop()
    assert by["reviews"].verdict == "mock" and by["products"].verdict == "real"
    assert by["post-review"].verdict == "unverified", by["post-review"].to_dict()
    assert by["create-product"].verdict == "unverified", by["create-product"].to_dict()
    assert _writes(seen) == []
