"""A small web app for the e2e tests: one page per kind of friction, and an API with sign-in.

Served on loopback by ``tests.loopback.serve``; ``app.state.fixed`` switches the missing API on (the
"next night" of the backlog tests).
"""

from __future__ import annotations

import asyncio
import secrets

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

PASSWORD = "s3cret-pass"

HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ font-family: sans-serif; margin: 2rem; }} .error {{ color: #b42318; }}</style></head><body>"""

PAGES = {
    "/sign-in.html": """
<h1>Sign in</h1>
<form id="form">
  <label>Email <input id="email" type="email"></label>
  <label>Password <input id="password" type="password"></label>
  <label>Plan <select id="plan"><option value="free">Free</option><option value="pro">Pro</option></select></label>
  <button id="go" type="submit">Sign in</button>
</form>
<p id="welcome"></p>
<p id="sign-in-error" class="error" role="alert" hidden></p>
<script>
document.getElementById("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const r = await fetch("/api/sign-in", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({email: email.value, password: password.value})});
  if (!r.ok) { const e = document.getElementById("sign-in-error"); e.textContent = "Invalid email or password"; e.hidden = false; return; }
  const data = await r.json();
  document.getElementById("welcome").textContent = "Welcome, " + data.name + " (" + plan.value + ")";
});
</script>""",
    "/missing.html": """
<h1>Inbox</h1><p>Unread: <span id="count">…</span></p><p id="inbox-error" class="error" hidden></p>
<script>
fetch("/api/unread-count").then(async (r) => {
  if (!r.ok) throw new Error("HTTP " + r.status);
  document.getElementById("count").textContent = (await r.json()).count;
}).catch(() => { const e = document.getElementById("inbox-error"); e.textContent = "Could not load notifications"; e.hidden = false; });
</script>""",
    "/slow.html": """
<h1>Report</h1><p id="report">loading…</p>
<script>fetch("/api/slow-report").then((r) => r.json()).then((d) => { document.getElementById("report").textContent = d.total; });</script>""",
    "/lorem.html": """
<h1>News</h1><ul id="news"></ul>
<script>fetch("/api/notes").then((r) => r.json()).then((notes) => {
  for (const n of notes) { const li = document.createElement("li"); li.textContent = n.body; news.append(li); }
});</script>""",
    "/blocked.html": """
<h1>Checkout</h1><button id="pay" disabled>Pay now</button>""",
    "/console.html": """
<h1>Widgets</h1>
<script>console.error("widget failed to initialise"); setTimeout(() => { throw new Error("kaboom"); }, 10);</script>""",
    "/shift.html": """
<div id="top"></div><div style="height: 700px; background: #e4e7eb"><p>Main content of the page.</p></div>
<script>setTimeout(() => { const b = document.createElement("div"); b.style.height = "400px";
  b.textContent = "Late banner"; document.getElementById("top").append(b); }, 300);</script>""",
    "/links.html": """
<h1>Links</h1><a id="broken" href="/gone.html">Old page</a>""",
    "/third-party.html": """
<h1>Partner</h1><img src="http://tracker.invalid/pixel.gif" alt=""><p id="ready">ready</p>""",
}


def create_pages_app(slow_s: float = 0.4) -> FastAPI:
    app = FastAPI()
    app.state.fixed = False
    tokens: dict[str, str] = {}

    for path, body in PAGES.items():
        def page(body: str = body, path: str = path) -> HTMLResponse:
            return HTMLResponse(HEAD.format(title=path.strip("/")) + body + "</body></html>")
        app.add_api_route(path, page, methods=["GET"])

    @app.post("/api/sign-in")
    async def sign_in(request: Request):
        body = await request.json()
        if body.get("password") != PASSWORD:
            return JSONResponse({"detail": "invalid email or password"}, status_code=401)
        token = secrets.token_hex(8)
        tokens[token] = body.get("email", "")
        return JSONResponse({"token": token, "name": "Ada"}, headers={"X-Session-Id": f"s-{token[:4]}"})

    @app.get("/api/profile")
    async def profile(request: Request):
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if token not in tokens:
            raise HTTPException(401, "not authenticated")
        return {"email": tokens[token], "name": "Ada"}

    @app.get("/api/products")
    async def products(limit: int = 3):
        return {"items": [{"id": i, "name": f"Widget {i}", "price": 2.5 * i} for i in range(1, limit + 1)]}

    @app.post("/api/orders", status_code=201)
    async def order(request: Request):
        body = await request.json()
        return JSONResponse({"id": 7, "product_id": body.get("product_id")}, status_code=201)

    @app.get("/api/unread-count")
    async def unread_count():
        if not app.state.fixed:
            raise HTTPException(404, "Not Found")
        return {"count": 2}

    @app.get("/api/slow-report")
    async def slow_report():
        await asyncio.sleep(slow_s)
        return {"total": 42}

    @app.get("/api/notes")
    async def notes():
        return [{"id": 1, "body": "Lorem ipsum dolor sit amet, consectetur adipiscing elit."},
                {"id": 2, "body": "Lorem ipsum dolor sit amet."}]

    return app


def pages_campaign(base_url: str, e2e: str, extra_endpoints: str = "") -> str:
    """A campaign file for the pages app with the given ``e2e:`` section (indented YAML)."""
    return f"""\
version: 1
campaign: pages
team: qa
environments:
  dev: {{kind: dev, base_url: "{base_url}"}}
  production: {{kind: production, base_url: "{base_url}"}}
variables:
  password: {PASSWORD}
endpoints:
  - {{name: sign-in, method: POST, path: /api/sign-in, json: {{email: ada@shop.test, password: "{{{{ password }}}}"}},
     expect: {{status: [200], fields: [token]}}}}
  - {{name: profile, path: /api/profile, expect: {{status: [200], fields: [email]}}}}
  - {{name: products, path: "/api/products?limit=3", expect: {{status: [200]}}}}
  - {{name: order, method: POST, path: /api/orders, json: {{product_id: 1}}, expect: {{status: [201]}}}}
  - {{name: notes, path: /api/notes}}
  - {{name: unread-count, path: /api/unread-count}}
{extra_endpoints}e2e:
{e2e}"""
