"""A small *real* service for the readiness tests: SQLite store, 404s,
persistence, timestamps, auth, jittery slow work — and a few traps that a
careless mock detector would call "mock"."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timezone

from fastapi import FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse

STARTED = time.monotonic()


class Store:
    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.lock = threading.Lock()
        self.writes = 0
        with self.lock:
            self.db.executescript(
                """
                CREATE TABLE products (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
                    sku TEXT UNIQUE, price REAL NOT NULL, stock INTEGER NOT NULL DEFAULT 0,
                    created_at TEXT NOT NULL);
                CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, role TEXT, created_at TEXT);
                """)
            rows = [
                ("Kettle", "KT-100", 29.9, 12), ("Toaster", "TS-220", 39.0, 4), ("Stand mixer", "MX-310", 249.0, 0),
                # created by QA from Swagger UI "Try it out": real data that *looks* like a placeholder
                ("string", "string", 0, 0),
                ("Espresso machine", "ES-900", 499.0, 2), ("Grinder", "GR-120", 89.5, 7),
            ]
            for i, (n, s, p, st) in enumerate(rows, start=1):
                self.db.execute("INSERT INTO products (name, sku, price, stock, created_at) VALUES (?,?,?,?,?)",
                                (n, s, p, st, f"2024-03-{i:02d}T09:{i:02d}:00Z"))
            self.db.executemany("INSERT INTO users VALUES (?,?,?,?,?)", [
                (1, "Test User", "test.user@example.com", "qa", "2023-11-02T10:00:00Z"),
                (2, "Ada Lovelace", "ada@analytical.engine", "admin", "2023-01-15T08:30:00Z"),
                (3, "Grace Hopper", "grace@cobol.dev", "member", "2023-02-20T14:45:00Z"),
            ])

    def query(self, sql: str, args: tuple = ()) -> list[dict]:
        with self.lock:
            return [dict(r) for r in self.db.execute(sql, args).fetchall()]

    def execute(self, sql: str, args: tuple = ()) -> int:
        with self.lock:
            cur = self.db.execute(sql, args)
            self.writes += 1
            return cur.lastrowid


def make_real_app() -> FastAPI:
    app = FastAPI()
    store = Store()
    app.state.store = store
    counter = {"n": 0}

    @app.get("/api/products")
    def list_products(limit: int = 20, q: str | None = None):
        if q:
            return store.query("SELECT * FROM products WHERE name LIKE ? ORDER BY id LIMIT ?", (f"%{q}%", limit))
        return {"items": store.query("SELECT * FROM products ORDER BY id LIMIT ?", (limit,)),
                "total": store.query("SELECT COUNT(*) AS n FROM products")[0]["n"]}

    @app.get("/api/products/random")
    def random_product():
        # real data, picked at random: a recommendation-style endpoint
        return random.choice(store.query("SELECT * FROM products WHERE name != 'string'"))

    @app.get("/api/products/{pid}")
    def get_product(pid: int):
        rows = store.query("SELECT * FROM products WHERE id = ?", (pid,))
        if not rows:
            raise HTTPException(404, "product not found")
        return rows[0]

    @app.post("/api/products", status_code=201)
    async def create_product(request: Request, response: Response):
        data = await request.json()
        if not data.get("name") or "price" not in data:
            raise HTTPException(422, "name and price are required")
        try:
            pid = store.execute(
                "INSERT INTO products (name, sku, price, stock, created_at) VALUES (?,?,?,?,?)",
                (data["name"], data.get("sku"), float(data["price"]), int(data.get("stock", 0)),
                 datetime.now(timezone.utc).isoformat()))
        except sqlite3.IntegrityError:
            raise HTTPException(409, "sku already exists")
        response.headers["Location"] = f"/api/products/{pid}"
        return store.query("SELECT * FROM products WHERE id = ?", (pid,))[0]

    @app.patch("/api/products/{pid}")
    async def patch_product(pid: int, request: Request):
        data = await request.json()
        if not store.query("SELECT id FROM products WHERE id = ?", (pid,)):
            raise HTTPException(404, "product not found")
        for k in ("name", "price", "stock", "sku"):
            if k in data:
                store.execute(f"UPDATE products SET {k} = ? WHERE id = ?", (data[k], pid))
        return store.query("SELECT * FROM products WHERE id = ?", (pid,))[0]

    @app.delete("/api/products/{pid}", status_code=204)
    def delete_product(pid: int):
        if not store.query("SELECT id FROM products WHERE id = ?", (pid,)):
            raise HTTPException(404, "product not found")
        store.execute("DELETE FROM products WHERE id = ?", (pid,))
        return Response(status_code=204)

    @app.get("/api/users/{uid}")
    def get_user(uid: int):
        rows = store.query("SELECT * FROM users WHERE id = ?", (uid,))
        if not rows:
            raise HTTPException(404, "user not found")
        return rows[0]

    @app.get("/api/config")
    def config():
        # legit small constant body
        return {"currency": "EUR", "locale": "fr-FR", "features": {"search": True, "reviews": False}}

    @app.get("/api/time")
    def server_time():
        counter["n"] += 1
        return {"now": datetime.now(timezone.utc).isoformat(), "request_id": str(uuid.uuid4()),
                "uptime_s": round(time.monotonic() - STARTED, 3), "served": counter["n"], "region": "eu-west-1"}

    @app.get("/api/reports/{rid}")
    async def report(rid: int):
        # slow but jittery real work
        await asyncio.sleep(random.uniform(0.04, 0.09))
        if rid > 100:
            raise HTTPException(404, "no such report")
        return {"id": rid, "rows": rid * 17 % 23, "title": f"Weekly sales #{rid}"}

    @app.get("/api/tenants/{tenant}/settings")
    def tenant_settings(tenant: str):
        # known tenants share the same default settings; unknown tenants 404
        if tenant not in {"acme", "globex", "initech"}:
            raise HTTPException(404, "unknown tenant")
        return {"theme": "light", "timezone": "Europe/Paris", "retention_days": 30}

    @app.get("/api/me")
    def me(authorization: str | None = Header(default=None)):
        if authorization != "Bearer s3cret":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return {"id": 2, "name": "Ada Lovelace", "roles": ["admin"]}

    @app.get("/api/quotes/{symbol}")
    def quote(symbol: str):
        base = {"ACME": 120.0, "GLBX": 48.5}.get(symbol.upper())
        if base is None:
            raise HTTPException(404, "unknown symbol")
        return {"symbol": symbol.upper(), "price": round(base * random.uniform(0.995, 1.005), 2),
                "as_of": datetime.now(timezone.utc).isoformat()}

    @app.get("/api/search")
    def search(q: str):
        return {"results": store.query("SELECT id, name FROM products WHERE name LIKE ?", (f"%{q}%",))}

    # --- RPC-style POSTs that create nothing (quotes, search, validation) ---------------

    def _quote(product: dict, qty: int) -> dict:
        subtotal = round(product["price"] * qty, 2)
        return {"product_id": product["id"], "sku": product["sku"], "name": product["name"], "qty": qty,
                "unit_price": product["price"], "subtotal": subtotal, "vat": round(subtotal * 0.2, 2),
                "total": round(subtotal * 1.2, 2), "currency": "EUR"}

    @app.post("/api/quotes")
    async def price_quote(request: Request):
        # computes from its input; looked up by id or by sku (case-insensitive), echoes what it found
        data = await request.json()
        qty = int(data.get("qty", 1))
        if "product_id" in data:
            rows = store.query("SELECT * FROM products WHERE id = ?", (int(data["product_id"]),))
        else:
            rows = store.query("SELECT * FROM products WHERE upper(sku) = upper(?)", (str(data.get("sku")),))
        if not rows:
            raise HTTPException(404, "unknown product")
        return _quote(rows[0], qty)

    @app.post("/api/products/search")
    async def search_post(request: Request):
        # the session id is for analytics only: two sessions get the very same results (legitimately)
        data = await request.json()
        rows = store.query("SELECT id, name, sku, price FROM products WHERE name LIKE ? ORDER BY id LIMIT ?",
                           (f"%{data.get('query', '')}%", int(data.get("limit", 10))))
        return {"query": data.get("query", ""), "results": rows, "total": len(rows)}

    @app.post("/api/recommendations")
    async def recommendations(request: Request):
        # cold start: customers without history all get the same best sellers
        data = await request.json()
        history = {1: [2, 3], 2: [1]}.get(int(data.get("customer_id", 0)))
        if history:
            rows = store.query(f"SELECT id, name, price FROM products WHERE id IN (1, 2, 3) AND id NOT IN "
                               f"({','.join('?' * len(history))}) ORDER BY id", tuple(history))
        else:
            rows = store.query("SELECT id, name, price FROM products WHERE id IN (1, 2, 3) ORDER BY id")
        return {"strategy": "personal" if history else "best-sellers", "items": rows}

    @app.post("/api/coupons/validate")
    async def validate_coupon(request: Request):
        # the same small verdict for every unknown coupon; "code" here is an error code, not the coupon
        data = await request.json()
        if data.get("code") == "WELCOME-2024":
            return {"valid": True, "discount_pct": 10}
        return {"valid": False, "code": "COUPON_NOT_FOUND", "message": "no such coupon"}

    @app.post("/api/login")
    async def login(request: Request):
        # 200 with the *existing* user's id and a fresh token: nothing is created at /api/login/{id}
        data = await request.json()
        rows = store.query("SELECT id FROM users WHERE email = ?", (str(data.get("email", "")).lower(),))
        if not rows or data.get("password") != "correct horse":
            return JSONResponse({"detail": "invalid email or password"}, status_code=401)
        return {"token": uuid.uuid4().hex, "token_type": "Bearer", "user_id": rows[0]["id"], "expires_in": 3600}

    # --- seed data that looks a little like placeholders, but is real ------------------

    posts = [
        {"id": 1, "title": "A sample of Provençal recipes", "author": "Ada Lovelace",
         "body": "Three sample menus for a summer week, tested in our kitchen.", "tags": ["cooking"],
         "published_at": "2024-02-03T08:15:00Z"},
        {"id": 2, "title": "Load testing 101", "author": "Grace Hopper",
         "body": "How we test the checkout before every sale.", "tags": ["engineering"],
         "published_at": "2024-02-10T17:40:00Z"},
        {"id": 3, "title": "Free samples at the Lyon store", "author": "Ada Lovelace",
         "body": "Come and taste the new espresso blend this Saturday.", "tags": ["news"],
         "published_at": "2024-02-21T09:05:00Z"},
    ]

    @app.get("/api/posts")
    def list_posts(limit: int = 10):
        return {"items": posts[:limit], "total": len(posts)}

    @app.get("/api/posts/{pid}")
    def get_post(pid: int):
        for post in posts:
            if post["id"] == pid:
                return post
        raise HTTPException(404, "post not found")

    @app.get("/api/categories")
    def categories():
        # seeded by a migration: every row has the same midnight timestamp
        return [{"id": i, "name": n, "slug": n.lower().replace(" ", "-"), "created_at": "2024-01-01T00:00:00Z"}
                for i, n in enumerate(["Kitchen", "Coffee", "Small appliances", "Spare parts"], start=1)]

    @app.get("/api/boom")
    def boom():
        return JSONResponse({"error": "database unavailable"}, status_code=503)

    @app.get("/api/slowpoke")
    async def slowpoke():
        await asyncio.sleep(2.0)
        return {"ok": True}

    @app.api_route("/api/legacy", methods=["GET"])
    def legacy():
        return JSONResponse({"detail": "Not implemented"}, status_code=501)

    return app
