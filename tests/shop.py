"""A small real shop service for tests: state in memory, answers that depend on input, writes that
persist. Not the demo: readiness, smoke and the CLI are tested against services built here too."""

from __future__ import annotations

import itertools

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse


def create_shop(slow_ms: float = 0.0) -> FastAPI:
    app = FastAPI()
    products = {i: {"id": i, "name": f"Product {i}", "price": round(3.5 * i + 0.99, 2), "stock": 10 * i}
                for i in range(1, 51)}
    orders: dict[int, dict] = {}
    ids = itertools.count(1)

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/api/products")
    async def list_products(limit: int = 10, offset: int = 0):
        items = list(products.values())[offset: offset + limit]
        return {"items": items, "total": len(products), "limit": limit, "offset": offset}

    @app.get("/api/products/{pid}")
    async def product(pid: int):
        if pid not in products:
            raise HTTPException(404, "product not found")
        return products[pid]

    @app.post("/api/orders", status_code=201)
    async def create_order(request: Request):
        body = await request.json()
        pid, qty = body.get("product_id"), body.get("qty", 1)
        if pid not in products:
            raise HTTPException(404, "product not found")
        oid = next(ids)
        orders[oid] = {"id": oid, "product_id": pid, "qty": qty, "total": products[pid]["price"] * qty}
        return JSONResponse(orders[oid], status_code=201, headers={"Location": f"/api/orders/{oid}"})

    @app.get("/api/orders/{oid}")
    async def order(oid: int):
        if oid not in orders:
            raise HTTPException(404, "order not found")
        return orders[oid]

    @app.get("/api/slow")
    async def slow():
        import asyncio

        await asyncio.sleep(slow_ms / 1000)
        return {"slept_ms": slow_ms}

    return app


SHOP_CAMPAIGN = """\
campaign: shop-api
team: payments
environments:
  dev: {{kind: dev, base_url: "{base}"}}
  production: {{kind: production, base_url: "{base}"}}
endpoints:
  - {{name: list-products, path: "/api/products?limit=20", expect: {{status: [200], fields: ["items[0].id"]}}}}
  - {{name: product, path: "/api/products/{{id}}", params: {{id: [1, 2, 3]}}, expect: {{fields: [name]}}}}
  - {{name: create-order, method: POST, path: /api/orders, json: {{product_id: 1, qty: 2}}, expect: {{status: [201]}}}}
{extra}"""


def shop_campaign(base: str, extra: str = "") -> str:
    return SHOP_CAMPAIGN.format(base=base, extra=extra)
