"""Wallet balance and transaction history of the signed-in user."""

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from .knobs import KnobbedRoute
from .routes_auth import require_user

router = APIRouter(route_class=KnobbedRoute)


def _balance(conn, user_id: int):
    row = conn.execute("SELECT balance_cents, currency FROM wallets WHERE user_id = ?", (user_id,)).fetchone()
    return (row["balance_cents"], row["currency"]) if row else (0, "USD")


def _transactions(conn, user_id: int, limit: int):
    rows = conn.execute("SELECT id, amount_cents, kind, description, created_at FROM wallet_transactions"
                        " WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit)).fetchall()
    return [{"id": r["id"], "amount": r["amount_cents"] / 100, "kind": r["kind"],
             "description": r["description"], "created_at": r["created_at"]} for r in rows]


@router.get("/wallet/balance")
async def balance(request: Request):
    user = await require_user(request)
    cents, currency = await request.app.state.db.read(_balance, user["id"])
    return JSONResponse({"user_id": user["id"], "balance": cents / 100, "currency": currency})


@router.get("/wallet/transactions")
async def transactions(request: Request, limit: int = Query(20, ge=1, le=100)):
    user = await require_user(request)
    return JSONResponse(await request.app.state.db.read(_transactions, user["id"], limit))
