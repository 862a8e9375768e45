"""Start the real service and the mock mimics once per test session (loopback
only), and probe them all once: most engine tests only read the verdicts."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

import pytest

from tasks.readiness import ProbeTarget, ReadinessVerdict, check_endpoints

from .mimics import (BaseHttpMock, make_handmade_app, make_json_server_app, make_mockoon_app, make_postman_app,
                     make_prism_app, make_relay_app, make_wiremock_app)
from .real_service import make_real_app
from .servers import closed_port, serve_asgi, serve_http_server, serve_raw_asgi


@dataclass
class Servers:
    real: str
    real_app: object
    prism: str
    prism_dyn: str
    json_server: str
    wiremock: str
    mockoon: str
    handmade: str
    basehttp: str
    postman: str
    prism_proxy: str
    mockoon_proxy: str


@pytest.fixture(scope="session")
def servers():
    # All servers share this process with the probing client: a short GIL
    # switch interval keeps thread hand-offs from adding ~5 ms of noise to the
    # latencies the constant-latency signal looks at.
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    real_app = make_real_app()
    real = serve_asgi(real_app)
    started = {
        "real": real,
        # mock-tool mimics: exact header casing, no uvicorn date/server headers
        "prism": serve_raw_asgi(make_prism_app()),
        "prism_dyn": serve_raw_asgi(make_prism_app(dynamic=True)),
        "prism_proxy": serve_raw_asgi(make_relay_app(real.url, "prism")),
        "mockoon_proxy": serve_raw_asgi(make_relay_app(real.url, "mockoon")),
        "json_server": serve_raw_asgi(make_json_server_app()),
        "wiremock": serve_raw_asgi(make_wiremock_app()),
        "mockoon": serve_raw_asgi(make_mockoon_app()),
        "postman": serve_raw_asgi(make_postman_app()),
        # hand-made mocks: what people really run them on
        "handmade": serve_asgi(make_handmade_app()),
        "basehttp": serve_http_server(BaseHttpMock),
    }
    try:
        yield Servers(real_app=real_app, **{k: v.url for k, v in started.items()})
    finally:
        for s in started.values():
            s.stop()
        sys.setswitchinterval(old_interval)


def real_targets(s: Servers) -> list[ProbeTarget]:
    r = s.real
    auth = {"Authorization": "Bearer s3cret"}
    return [
        ProbeTarget("real-product", "GET", f"{r}/api/products/{{id}}", {"id": [1, 2, 3]}),
        ProbeTarget("real-product-swagger-record", "GET", f"{r}/api/products/{{id}}", {"id": [4]}),
        ProbeTarget("real-product-bad-first-id", "GET", f"{r}/api/products/{{id}}", {"id": [999, 2]}),
        ProbeTarget("real-list", "GET", f"{r}/api/products?limit=5", {}),
        ProbeTarget("real-random", "GET", f"{r}/api/products/random", {}),
        ProbeTarget("real-user-test-user", "GET", f"{r}/api/users/{{id}}", {"id": [1, 2]}),
        ProbeTarget("real-user-only-test-user", "GET", f"{r}/api/users/{{id}}", {"id": [1]}),
        ProbeTarget("real-config", "GET", f"{r}/api/config", {}, headers=auth),
        ProbeTarget("real-time", "GET", f"{r}/api/time", {}),
        ProbeTarget("real-report-jittery", "GET", f"{r}/api/reports/{{id}}", {"id": [5, 6]}),
        ProbeTarget("real-tenant-settings", "GET", f"{r}/api/tenants/{{t}}/settings", {"t": ["acme", "globex"]}),
        ProbeTarget("real-me", "GET", f"{r}/api/me", {}, headers=auth),
        ProbeTarget("real-quote", "GET", f"{r}/api/quotes/{{sym}}", {"sym": ["ACME", "GLBX"]}),
        ProbeTarget("real-search", "GET", f"{r}/api/search?q={{q}}", {"q": ["Kett", "Toast"]}),
        ProbeTarget("real-create", "POST", f"{r}/api/products", {},
                    body={"name": "Rice cooker", "price": 59.0, "stock": 3}, expect_status=(201,)),
        ProbeTarget("real-create-unique-sku", "POST", f"{r}/api/products", {},
                    body={"name": "Waffle iron", "price": 35.0, "sku": "WF-001"}, expect_status=(201,)),
        ProbeTarget("real-patch", "PATCH", f"{r}/api/products/{{id}}", {"id": [5]},
                    body={"price": 479.0, "stock": 9}),
        ProbeTarget("real-delete", "DELETE", f"{r}/api/products/{{id}}", {"id": [6]}, expect_status=(204,)),
        # the real service seen through mock tools acting as proxies
        ProbeTarget("real-via-prism-proxy", "GET", f"{s.prism_proxy}/api/products/{{id}}", {"id": [1, 2]}),
        ProbeTarget("real-via-prism-proxy-config", "GET", f"{s.prism_proxy}/api/config", {}),
        ProbeTarget("real-via-mockoon-proxy", "GET", f"{s.mockoon_proxy}/api/users/{{id}}", {"id": [2, 3]}),
        ProbeTarget("real-via-mockoon-proxy-create", "POST", f"{s.mockoon_proxy}/api/products", {},
                    body={"name": "Kettle XL", "price": 44.0}),
        # RPC-style POSTs that create nothing
        ProbeTarget("real-quote-by-id", "POST", f"{r}/api/quotes", {}, body={"product_id": 1, "qty": 2}),
        ProbeTarget("real-quote-by-sku", "POST", f"{r}/api/quotes", {}, body={"sku": "kt-100", "qty": 3}),
        ProbeTarget("real-search-post", "POST", f"{r}/api/products/search", {},
                    body={"query": "Toast", "limit": 5, "session_id": "s-0001"}),
        ProbeTarget("real-recommendations-cold-start", "POST", f"{r}/api/recommendations", {},
                    body={"customer_id": 42, "limit": 3}),
        ProbeTarget("real-validate-coupon", "POST", f"{r}/api/coupons/validate", {},
                    body={"code": "SAVE-0010", "basket_total": 80}),
        ProbeTarget("real-login", "POST", f"{r}/api/login", {},
                    body={"email": "ada@analytical.engine", "password": "correct horse"}),
        # seed data with "sample"/"test" in it, and a migration's identical midnight timestamps
        ProbeTarget("real-blog-post", "GET", f"{r}/api/posts/{{id}}", {"id": [1, 3]}),
        ProbeTarget("real-blog-list", "GET", f"{r}/api/posts?limit=10", {}),
        ProbeTarget("real-categories", "GET", f"{r}/api/categories", {}, headers=auth),
    ]


def mock_targets(s: Servers) -> list[ProbeTarget]:
    h = s.handmade
    return [
        ProbeTarget("prism-product", "GET", f"{s.prism}/api/products/{{id}}", {"id": [1, 2, 3]}),
        ProbeTarget("prism-user", "GET", f"{s.prism}/api/users/{{id}}",
                    {"id": ["6f1c2b1e-1111-4c1a-9a1a-0123456789ab"]}),
        ProbeTarget("prism-create", "POST", f"{s.prism}/api/products", {}, body={"name": "Widget", "price": 12.5}),
        ProbeTarget("prism-dyn-product", "GET", f"{s.prism_dyn}/api/products/{{id}}", {"id": [1, 2]}),
        ProbeTarget("prism-dyn-list", "GET", f"{s.prism_dyn}/api/products?limit=20", {}),
        ProbeTarget("json-server-product", "GET", f"{s.json_server}/products/{{id}}", {"id": [1, 2]}),
        ProbeTarget("json-server-list", "GET", f"{s.json_server}/products?_limit=2", {}),
        ProbeTarget("json-server-create", "POST", f"{s.json_server}/products", {},
                    body={"name": "Widget", "price": 12.5}),
        ProbeTarget("wiremock-product", "GET", f"{s.wiremock}/api/products/{{id}}", {"id": [1, 2]}),
        ProbeTarget("wiremock-list", "GET", f"{s.wiremock}/api/products?limit=5", {}),
        ProbeTarget("wiremock-create", "POST", f"{s.wiremock}/api/products", {},
                    body={"name": "Widget", "price": 12.5}),
        ProbeTarget("wiremock-slow", "GET", f"{s.wiremock}/api/slow", {}),
        ProbeTarget("mockoon-order", "GET", f"{s.mockoon}/api/orders/{{id}}", {"id": [7, 8]}),
        ProbeTarget("handmade-canned", "GET", f"{h}/api/products/{{id}}", {"id": [10, 11, 12]}),
        ProbeTarget("handmade-canned-list", "GET", f"{h}/api/products?limit=10", {}),
        ProbeTarget("handmade-fixed-sleep", "GET", f"{h}/api/reports/{{id}}", {"id": [5, 6]}),
        ProbeTarget("handmade-nonpersisting-write", "POST", f"{h}/api/orders", {},
                    body={"sku": "MOUSE-1", "qty": 2, "customer": "c-778"}),
        ProbeTarget("handmade-patch", "PATCH", f"{h}/api/products/{{id}}", {"id": [3]},
                    body={"price": 19.99, "name": "Wireless Mouse v2"}),
        ProbeTarget("handmade-lorem", "GET", f"{h}/api/articles/{{id}}", {"id": [1, 2]}),
        ProbeTarget("handmade-faker", "GET", f"{h}/api/customers/{{id}}", {"id": [31, 32]}),
        ProbeTarget("basehttp-catchall", "GET", f"{s.basehttp}/api/products/{{id}}", {"id": [1, 2]}),
        ProbeTarget("postman-pet", "GET", f"{s.postman}/pet/{{id}}", {"id": [1, 2]}),
        ProbeTarget("handmade-canned-forecast", "POST", f"{h}/api/forecast", {},
                    body={"sku": "SKU-00001", "horizon_days": 7}),
        ProbeTarget("handmade-placeholder-inbox", "GET", f"{h}/api/inbox", {},
                    headers={"Authorization": "Bearer t0k3n"}),
    ]


def misc_targets(s: Servers) -> list[ProbeTarget]:
    r = s.real
    return [
        ProbeTarget("missing-route", "GET", f"{r}/api/wishlist", {}),
        ProbeTarget("missing-all-ids", "GET", f"{r}/api/products/{{id}}", {"id": [900, 901]}),
        ProbeTarget("missing-item-route", "GET", f"{r}/api/widgets/{{id}}", {"id": [1, 2]}),
        ProbeTarget("unknown-user", "GET", f"{r}/api/users/{{id}}", {"id": [98, 99]}),
        ProbeTarget("method-not-allowed", "PUT", f"{r}/api/config", {}, body={"currency": "USD"}),
        ProbeTarget("not-implemented-501", "GET", f"{r}/api/legacy", {}),
        ProbeTarget("not-implemented-body", "GET", f"{s.handmade}/api/refunds", {}),
        ProbeTarget("server-error", "GET", f"{r}/api/boom", {}),
        ProbeTarget("unreachable", "GET", f"http://127.0.0.1:{closed_port()}/api/x", {}),
        ProbeTarget("expected-401", "GET", f"{r}/api/me", {}, expect_status=(401,)),
        ProbeTarget("wiremock-unstubbed", "GET", f"{s.wiremock}/api/nope", {}),
        ProbeTarget("prism-unknown-route", "GET", f"{s.prism}/api/nope", {}),
    ]


@pytest.fixture(scope="session")
def verdicts(servers) -> dict[str, ReadinessVerdict]:
    targets = real_targets(servers) + mock_targets(servers) + misc_targets(servers)
    seen: list[str] = []
    results = asyncio.run(check_endpoints(targets, concurrency=4, on_result=lambda v: seen.append(v.name)))
    assert [v.name for v in results] == [t.name for t in targets]
    assert sorted(seen) == sorted(t.name for t in targets)
    return {v.name: v for v in results}
