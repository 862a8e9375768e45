"""``http_error``: the proxy answers a chosen fraction of HTTP requests with ``status`` itself.

The request never reaches the target. Its answer keeps its place: it is sent after the answers
to the requests before it on the same connection. The body says the fault was injected, and the
``X-Perfcampaign-Fault`` header names it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import Field

from tasks.chaos.faults import register
from tasks.chaos.faults.base import Answer, Fault, Params


class HttpErrorParams(Params):
    status: int = Field(503, ge=500, le=599)
    body: str = '{"detail":"fault injected by perfcampaign chaos"}'
    content_type: str = "application/json"


def response_bytes(status: int, body: str, content_type: str, fault_id: str) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Server Error"
    payload = body.encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
            f"X-Perfcampaign-Fault: {fault_id}\r\n\r\n")
    return head.encode("latin-1") + payload


@register
class HttpError(Fault):
    type = "http_error"
    Params = HttpErrorParams
    http = True
    unit = "request"

    def __init__(self, params: Params, fraction: float = 1.0, name: str | None = None):
        super().__init__(params, fraction, name)
        p: HttpErrorParams = self.params  # type: ignore[assignment]
        self.answer = Answer(response_bytes(p.status, p.body, p.content_type, self.id))

    def on_request(self, link: Any, head: Any) -> Any:
        return self.answer if self.chosen(link.proxy.rng) else None
