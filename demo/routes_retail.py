"""Retail inventory: stock-keeping units per location."""

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from .knobs import KnobbedRoute

router = APIRouter(route_class=KnobbedRoute)

_COLUMNS = "sku, product_id, location, on_hand, reorder_point, updated_at"


def _item(row) -> dict:
    item = dict(row)
    item["needs_reorder"] = row["on_hand"] <= row["reorder_point"]
    return item


def _list_inventory(conn, limit: int, location: str | None):
    if location:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM inventory_items WHERE location = ? ORDER BY sku LIMIT ?",
                            (location, limit)).fetchall()
    else:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM inventory_items ORDER BY sku LIMIT ?", (limit,)).fetchall()
    return [_item(r) for r in rows]


def _get_item(conn, sku: str):
    row = conn.execute(f"SELECT {_COLUMNS} FROM inventory_items WHERE sku = ?", (sku,)).fetchone()
    return _item(row) if row else None


@router.get("/api/retail-ai/inventory")
async def list_inventory(request: Request, limit: int = Query(50, ge=1, le=500),
                         location: str | None = Query(None, max_length=64)):
    return JSONResponse(await request.app.state.db.read(_list_inventory, limit, location))


@router.get("/api/retail-ai/inventory/{sku}")
async def get_inventory_item(sku: str, request: Request):
    item = await request.app.state.db.read(_get_item, sku)
    if item is None:
        raise HTTPException(status_code=404, detail="inventory item not found")
    return JSONResponse(item)
