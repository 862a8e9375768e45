"""Sign-in, bearer-token sessions and the user profile.

Tokens are random strings stored in the ``sessions`` table with an expiry;
``require_user`` resolves ``Authorization: Bearer TOKEN`` against it and is
called directly by handlers that need a user (no dependency injection).
"""

import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .knobs import KnobbedRoute
from .security import DUMMY_HASH, new_token, verify_password

SESSION_TTL_S = 3600

router = APIRouter(route_class=KnobbedRoute)


class SignIn(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


def _sign_in(conn, email: str, password: str, now: float):
    row = conn.execute("SELECT id, password_hash FROM users WHERE email = ?", (email.strip().lower(),)).fetchone()
    password_ok = verify_password(password, row["password_hash"] if row else DUMMY_HASH)
    if row is None or not password_ok:
        return None
    token = new_token()
    with conn:
        conn.execute("DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?", (row["id"], now))
        conn.execute("INSERT INTO sessions (token, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                     (token, row["id"], now, now + SESSION_TTL_S))
    return token, row["id"]


def _user_for_token(conn, token: str, now: float):
    row = conn.execute(
        "SELECT u.id, u.email, u.name, u.role, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token = ? AND s.expires_at > ?", (token, now)).fetchone()
    return dict(row) if row else None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def require_user(request: Request) -> dict:
    """The user owning the request's bearer token, or raise 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("not authenticated")
    user = await request.app.state.db.read(_user_for_token, token, time.time())
    if user is None:
        raise _unauthorized("invalid or expired token")
    return user


@router.post("/auth/sign-in")
async def sign_in(body: SignIn, request: Request):
    result = await request.app.state.db.run(_sign_in, body.email, body.password, time.time())
    if result is None:
        raise _unauthorized("invalid email or password")
    token, user_id = result
    return JSONResponse({"token": token, "token_type": "Bearer", "user_id": user_id, "expires_in": SESSION_TTL_S})


@router.get("/api/profile")
async def profile(request: Request):
    return JSONResponse(await require_user(request))
