"""A hand-rolled FastAPI mock of the inventory service, written by the team that consumes it:
fixtures, random "live" numbers, an echoing POST. Same framework as the real service will be."""

import random
from datetime import datetime

from fastapi import FastAPI, HTTPException

app = FastAPI(title="Inventory (mock)")

WAREHOUSES = [{"id": "w1", "city": "Lyon", "capacity": 12000}, {"id": "w2", "city": "Porto", "capacity": 8000}]
STOCK = {"KT-100": 12, "TS-220": 40, "MX-310": 0}


@app.get("/healthz")
def healthz():
    return {"ok": True}


@app.get("/inventory/warehouses")
def warehouses():
    return WAREHOUSES


@app.get("/inventory/warehouses/{wid}")
def warehouse(wid: str):
    for w in WAREHOUSES:
        if w["id"] == wid:
            return w
    raise HTTPException(404, "Not Found")


@app.get("/inventory/stock/{sku}")
def stock(sku: str):
    return {"sku": sku, "available": STOCK.get(sku, 10), "reserved": 0, "updated_at": datetime.now().isoformat()}


@app.post("/inventory/reservations", status_code=201)
def reserve(body: dict):
    return {"reservation_id": "res-0001", "status": "confirmed", **body}


@app.get("/inventory/forecast/{sku}")
def forecast(sku: str, days: int = 7):
    return {"sku": sku, "days": days, "demand": [random.randint(5, 50) for _ in range(days)], "model": "v0-mock"}


@app.get("/inventory/movements")
def movements(limit: int = 20):
    return {"items": [{"sku": "KT-100", "qty": -2, "at": "2024-05-01T10:00:00Z"},
                      {"sku": "TS-220", "qty": 10, "at": "2024-05-02T08:30:00Z"}][:limit]}
