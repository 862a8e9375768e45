"""A real shop API (FastAPI + SQLite file) for the readiness bed, run as its own process.

    python -m tests.realbed.apps.shop --port 8123 --db /tmp/shop.sqlite3

Everything is persisted: a created product is listed and can be read, changed and deleted; an
order takes stock and debits the customer's wallet. Traps a careless detector falls into:

* ``POST /api/orders`` answers ``Location: /api/v2/orders/{id}``, a route this API does not
  expose (a gateway serves it in production): following it gives the router's 404, although the
  order list grew and the wallet was debited.
* ``POST /api/products/search`` only reads.
* Product 4 is named "string" (QA created it from Swagger UI), product 3 is out of stock.

A few handlers are canned on purpose — the way teams leave them while the real work is pending
(``CANNED``): they return hard-coded data, ignore their input, or accept and forget a write.
Which campaign endpoints are canned is the configuration's ground truth, not this file's business.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Response
from pydantic import BaseModel, Field

STARTED = time.monotonic()
#: the routes whose handlers are canned (hard-coded data, no effect)
CANNED = ("GET /api/recommendations", "GET /api/shipping/quote", "GET /api/customers/{customer_id}/loyalty",
          "POST /api/newsletter/subscriptions", "GET /api/products/{product_id}/reviews")

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
    sku TEXT UNIQUE NOT NULL, price REAL NOT NULL, stock INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
    balance REAL NOT NULL);
CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY AUTOINCREMENT, ref TEXT NOT NULL, customer_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL, qty INTEGER NOT NULL, total REAL NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
"""
PRODUCTS = [("Kettle", "KT-100", 29.9, 12), ("Toaster", "TS-220", 39.0, 40), ("Stand mixer", "MX-310", 249.0, 0),
            ("string", "string", 0.0, 5), ("Espresso machine", "ES-900", 499.0, 25), ("Grinder", "GR-120", 89.5, 70)]
CUSTOMERS = [(1, "Ada Lovelace", "ada@analytical.engine", 5000.0), (2, "Grace Hopper", "grace@cobol.dev", 1800.0),
             (3, "Alan Turing", "alan@bletchley.park", 2500.0)]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Store:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.lock = threading.Lock()
        with self.lock:
            self.db.executescript(SCHEMA)
            if not self.db.execute("SELECT count(*) FROM products").fetchone()[0]:
                for i, (name, sku, price, stock) in enumerate(PRODUCTS, start=1):
                    stamp = f"2025-0{1 + i % 9}-1{i}T09:{10 + i}:00.000+00:00"
                    self.db.execute("INSERT INTO products (name, sku, price, stock, created_at, updated_at) "
                                    "VALUES (?,?,?,?,?,?)", (name, sku, price, stock, stamp, stamp))
                self.db.executemany("INSERT INTO customers VALUES (?,?,?,?)", CUSTOMERS)

    def all(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.db.execute(sql, args).fetchall()]

    def one(self, sql: str, args: tuple = ()) -> dict[str, Any] | None:
        rows = self.all(sql, args)
        return rows[0] if rows else None

    def run(self, sql: str, args: tuple = ()) -> int:
        with self.lock:
            return self.db.execute(sql, args).lastrowid or 0


class NewProduct(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    price: float = Field(ge=0)
    sku: str | None = Field(None, max_length=40)
    stock: int = Field(0, ge=0)


class ProductPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=120)
    price: float | None = Field(None, ge=0)
    stock: int | None = Field(None, ge=0)


class NewOrder(BaseModel):
    customer_id: int
    product_id: int
    qty: int = Field(1, ge=1, le=20)


class Search(BaseModel):
    query: str = ""
    max_price: float | None = None
    limit: int = Field(10, ge=1, le=100)


class Subscription(BaseModel):
    email: str


def make_app(db_path: str) -> FastAPI:
    store = Store(db_path)
    app = FastAPI(title="Shop API", version="2.3.0")

    def product_or_404(product_id: int) -> dict[str, Any]:
        row = store.one("SELECT * FROM products WHERE id = ?", (product_id,))
        if row is None:
            raise HTTPException(404, "Product not found")
        return row

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "uptime_s": round(time.monotonic() - STARTED, 3)}

    @app.get("/api/products")
    def list_products(limit: int = Query(20, ge=1, le=200), offset: int = Query(0, ge=0)) -> dict[str, Any]:
        total = store.one("SELECT count(*) AS n FROM products")["n"]
        items = store.all("SELECT * FROM products ORDER BY id LIMIT ? OFFSET ?", (limit, offset))
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    @app.post("/api/products", status_code=201)
    def create_product(body: NewProduct, response: Response) -> dict[str, Any]:
        sku = body.sku or f"SKU-{uuid.uuid4().hex[:8].upper()}"
        if store.one("SELECT id FROM products WHERE sku = ?", (sku,)):
            raise HTTPException(409, f"sku {sku} already exists")
        stamp = now()
        pid = store.run("INSERT INTO products (name, sku, price, stock, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                        (body.name, sku, body.price, body.stock, stamp, stamp))
        response.headers["Location"] = f"/api/products/{pid}"
        return product_or_404(pid)

    @app.post("/api/products/search")
    def search_products(body: Search) -> dict[str, Any]:
        rows = store.all("SELECT * FROM products WHERE name LIKE ? ORDER BY id", (f"%{body.query}%",))
        if body.max_price is not None:
            rows = [r for r in rows if r["price"] <= body.max_price]
        return {"items": rows[: body.limit], "total": len(rows)}

    @app.get("/api/products/{product_id}")
    def get_product(product_id: int) -> dict[str, Any]:
        return product_or_404(product_id)

    @app.patch("/api/products/{product_id}")
    def patch_product(product_id: int, body: ProductPatch) -> dict[str, Any]:
        product_or_404(product_id)
        changes = body.model_dump(exclude_none=True)
        if changes:
            cols = ", ".join(f"{k} = ?" for k in changes)
            store.run(f"UPDATE products SET {cols}, updated_at = ? WHERE id = ?",
                      (*changes.values(), now(), product_id))
        return product_or_404(product_id)

    @app.delete("/api/products/{product_id}", status_code=204)
    def delete_product(product_id: int) -> Response:
        product_or_404(product_id)
        store.run("DELETE FROM products WHERE id = ?", (product_id,))
        return Response(status_code=204)

    @app.get("/api/customers/{customer_id}/wallet")
    def wallet(customer_id: int) -> dict[str, Any]:
        row = store.one("SELECT id, balance FROM customers WHERE id = ?", (customer_id,))
        if row is None:
            raise HTTPException(404, "Customer not found")
        spent = store.one("SELECT coalesce(sum(total), 0) AS s, count(*) AS n FROM orders WHERE customer_id = ?",
                          (customer_id,))
        return {"customer_id": customer_id, "balance": round(row["balance"], 2), "currency": "EUR",
                "orders": spent["n"], "as_of": now()}

    @app.get("/api/orders")
    def list_orders(customer_id: int | None = None, limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
        if customer_id is None:
            rows = store.all("SELECT * FROM orders ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = store.all("SELECT * FROM orders WHERE customer_id = ? ORDER BY id DESC LIMIT ?", (customer_id, limit))
        return {"items": rows, "count": len(rows)}

    @app.post("/api/orders", status_code=201)
    def create_order(body: NewOrder, response: Response) -> dict[str, Any]:
        with store.lock:
            db = store.db
            product = db.execute("SELECT * FROM products WHERE id = ?", (body.product_id,)).fetchone()
            customer = db.execute("SELECT * FROM customers WHERE id = ?", (body.customer_id,)).fetchone()
            if product is None or customer is None:
                raise HTTPException(404, "Product not found" if product is None else "Customer not found")
            if product["stock"] < body.qty:
                raise HTTPException(409, f"only {product['stock']} left of product {body.product_id}")
            total = round(product["price"] * body.qty, 2)
            if customer["balance"] < total:
                raise HTTPException(402, "insufficient balance")
            db.execute("UPDATE products SET stock = stock - ? WHERE id = ?", (body.qty, body.product_id))
            db.execute("UPDATE customers SET balance = balance - ? WHERE id = ?", (total, body.customer_id))
            ref = f"ORD-{uuid.uuid4().hex[:10].upper()}"
            oid = db.execute("INSERT INTO orders (ref, customer_id, product_id, qty, total, status, created_at) "
                             "VALUES (?,?,?,?,?,?,?)",
                             (ref, body.customer_id, body.product_id, body.qty, total, "accepted", now())).lastrowid
        response.headers["Location"] = f"/api/v2/orders/{oid}"
        return {"id": oid, "ref": ref, "status": "accepted", "total": total, "customer_id": body.customer_id,
                "product_id": body.product_id, "qty": body.qty}

    @app.get("/api/stats")
    def stats() -> dict[str, Any]:
        counts = store.one("SELECT (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM orders) AS orders, "
                           "(SELECT coalesce(sum(total), 0) FROM orders) AS revenue")
        return {**counts, "uptime_s": round(time.monotonic() - STARTED, 3), "generated_at": now()}

    # ---- canned handlers: the real work is pending ------------------------------------------
    @app.get("/api/recommendations")
    def recommendations(customer_id: int | None = None, limit: int = 3) -> dict[str, Any]:
        return {"customer_id": 1, "items": [{"product_id": 1, "name": "Kettle", "score": 0.98},
                                            {"product_id": 2, "name": "Toaster", "score": 0.87},
                                            {"product_id": 5, "name": "Espresso machine", "score": 0.66}]}

    @app.get("/api/shipping/quote")
    def shipping_quote(zip: str = "00000", weight_kg: float = 1.0) -> dict[str, Any]:
        return {"carrier": "ACME Express", "price": 4.99, "currency": "EUR", "eta_days": 3}

    @app.get("/api/customers/{customer_id}/loyalty")
    def loyalty(customer_id: int) -> dict[str, Any]:
        return {"tier": "gold", "points": 1200, "member_since": "2020-01-01"}

    @app.get("/api/products/{product_id}/reviews")
    def reviews(product_id: int) -> dict[str, Any]:
        return {"average": 4.5, "count": 2, "items": [
            {"author": "John Doe", "rating": 5, "text": "Lorem ipsum dolor sit amet"},
            {"author": "Jane Doe", "rating": 4, "text": "Consectetur adipiscing elit"}]}

    @app.post("/api/newsletter/subscriptions", status_code=201)
    def subscribe(body: Subscription) -> dict[str, Any]:
        return {"id": 123, "email": "test@example.com", "status": "subscribed"}

    return app


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--no-server-header", action="store_true",
                    help="send no Server header (uvicorn's --no-server-header, as security scanners ask)")
    args = ap.parse_args()
    uvicorn.run(make_app(args.db), host=args.host, port=args.port, log_level="warning",
                server_header=not args.no_server_header)


if __name__ == "__main__":
    main()
