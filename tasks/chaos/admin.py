"""A tiny HTTP API to steer a running proxy, like Toxiproxy's (loopback only, one request per
connection, JSON in and out)::

    GET    /faults            {"proxy": {...}, "faults": [{id, type, fraction, params}, ...]}
    POST   /faults            {"type": "latency", "params": {"latency_ms": 200}, "fraction": 0.5, "name": "slow"}
                              → 201 {"fault": {...}}   (400 with the problems, 403 in production)
    DELETE /faults/{id}       → 204, or 404
    DELETE /faults            → 200 {"removed": [ids]}
    GET    /health            → 200 {"status": "ok"}

It runs on the proxy's own loop, so every change is applied between two chunks, never during one.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tasks.chaos.errors import ChaosError, ChaosRefused, FaultError
from tasks.chaos.faults import build
from tasks.chaos.proxy import FaultProxy, is_loopback

MAX_BODY = 64 * 1024


def _response(status: int, body: Any = None) -> bytes:
    reasons = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
               404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large"}
    payload = b"" if body is None else json.dumps(body).encode()
    head = (f"HTTP/1.1 {status} {reasons.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
    return head.encode() + payload


def handle(proxy: FaultProxy, method: str, path: str, body: bytes) -> bytes:
    """One admin request → the response bytes (pure but for the proxy calls)."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    if path == "/health" and method == "GET":
        return _response(200, {"status": "ok"})
    if path == "/faults":
        if method == "GET":
            return _response(200, {"proxy": proxy.describe(), "faults": [f.describe() for f in proxy.faults]})
        if method == "DELETE":
            return _response(200, {"removed": [f.id for f in proxy.clear_faults()]})
        if method == "POST":
            try:
                doc = json.loads(body or b"{}")
                if not isinstance(doc, dict) or "type" not in doc:
                    raise FaultError('the body is {"type": ..., "params": {...}, "fraction": 0..1, "name": ...}')
                fault = build(str(doc["type"]), doc.get("params") or {}, float(doc.get("fraction", 1.0)),
                              name=doc.get("name"))
                proxy.add_fault(fault)
            except ChaosRefused as exc:
                return _response(403, {"error": str(exc)})
            except (ValueError, TypeError, ChaosError) as exc:
                return _response(400, {"error": str(exc)})
            return _response(201, {"fault": fault.describe()})
        return _response(405, {"error": f"{method} /faults is not supported"})
    if path.startswith("/faults/"):
        if method != "DELETE":
            return _response(405, {"error": f"{method} {path} is not supported"})
        return _response(204) if proxy.remove_fault(path[len("/faults/"):]) else _response(404, {"error": "no such fault"})
    return _response(404, {"error": f"no route {method} {path}"})


async def _serve_one(proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length > MAX_BODY:
            writer.write(_response(413, {"error": "body too large"}))
        else:
            body = await asyncio.wait_for(reader.readexactly(length), 10) if length else b""
            writer.write(handle(proxy, method.upper(), target, body))
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError,
            ConnectionError):
        pass
    finally:
        writer.close()


async def serve_admin(proxy: FaultProxy, host: str = "127.0.0.1", port: int = 0) -> asyncio.AbstractServer:
    """Start the admin API on the running loop (the proxy's); loopback only."""
    if not is_loopback(host):
        raise ChaosError(f"the admin API listens on loopback only, not {host!r}")
    return await asyncio.start_server(lambda r, w: _serve_one(proxy, r, w), host, port)
