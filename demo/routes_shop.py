"""Product catalogue and orders.

Placing an order decrements the product's stock in the same transaction that
inserts the order row; an order larger than the stock is refused with 409.
"""

import time

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .db import iso
from .knobs import KnobbedRoute

router = APIRouter(route_class=KnobbedRoute)

_PRODUCT_COLUMNS = "id, name, category, price_cents, stock, created_at"


class OrderIn(BaseModel):
    product_id: int
    qty: int = Field(ge=1, le=1000)


def _product(row) -> dict:
    return {"id": row["id"], "name": row["name"], "category": row["category"],
            "price": row["price_cents"] / 100, "stock": row["stock"], "created_at": row["created_at"]}


def _order(row) -> dict:
    return {"id": row["id"], "product_id": row["product_id"], "qty": row["qty"],
            "unit_price": row["unit_price_cents"] / 100, "total": row["qty"] * row["unit_price_cents"] / 100,
            "status": row["status"], "created_at": row["created_at"]}


def _list_products(conn, limit: int, offset: int):
    rows = conn.execute(f"SELECT {_PRODUCT_COLUMNS} FROM products ORDER BY id LIMIT ? OFFSET ?",
                        (limit, offset)).fetchall()
    total = conn.execute("SELECT COUNT(*) FROM products").fetchone()[0]
    return [_product(r) for r in rows], total


def _get_product(conn, product_id: int):
    row = conn.execute(f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE id = ?", (product_id,)).fetchone()
    return _product(row) if row else None


def _place_order(conn, product_id: int, qty: int, now: str):
    """Returns the new order, or "not_found" / "insufficient_stock"."""
    with conn:
        updated = conn.execute("UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?",
                               (qty, product_id, qty)).rowcount
        if not updated:
            exists = conn.execute("SELECT 1 FROM products WHERE id = ?", (product_id,)).fetchone()
            return "insufficient_stock" if exists else "not_found"
        order_id = conn.execute(
            "INSERT INTO orders (product_id, qty, unit_price_cents, status, created_at)"
            " SELECT id, ?, price_cents, 'created', ? FROM products WHERE id = ?", (qty, now, product_id)).lastrowid
    return _get_order(conn, order_id)


def _get_order(conn, order_id: int):
    row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    return _order(row) if row else None


@router.get("/api/products")
async def list_products(request: Request, limit: int = Query(20, ge=1, le=100), offset: int = Query(0, ge=0)):
    items, total = await request.app.state.db.read(_list_products, limit, offset)
    return JSONResponse({"items": items, "total": total, "limit": limit, "offset": offset})


@router.get("/api/products/{id}")
async def get_product(id: int, request: Request):
    product = await request.app.state.db.read(_get_product, id)
    if product is None:
        raise HTTPException(status_code=404, detail="product not found")
    return JSONResponse(product)


@router.post("/api/orders", status_code=201)
async def create_order(body: OrderIn, request: Request):
    result = await request.app.state.db.run(_place_order, body.product_id, body.qty, iso(time.time()))
    if result == "not_found":
        raise HTTPException(status_code=404, detail="product not found")
    if result == "insufficient_stock":
        raise HTTPException(status_code=409, detail="insufficient stock")
    return JSONResponse(result, status_code=201, headers={"Location": f"/api/orders/{result['id']}"})


@router.get("/api/orders/{id}")
async def get_order(id: int, request: Request):
    order = await request.app.state.db.read(_get_order, id)
    if order is None:
        raise HTTPException(status_code=404, detail="order not found")
    return JSONResponse(order)
