"""One HTTP exchange that nothing a target does can stretch: a deadline over the whole request and
a cap on the body kept.

httpx's ``timeout`` bounds each read, not the request: a server that trickles one byte a second
keeps a 3 s timeout alive forever, and ``response.content`` holds whatever an endless chunked body
sends until memory runs out. :func:`bounded_request` streams the response, keeps at most
``max_bytes`` of the body (the rest is not read: the connection is closed and the truncation is
recorded), and wraps connect, headers and body in one ``asyncio`` deadline.

Every request that leaves a single-pass stage (readiness, smoke, e2e API journeys) goes through
here; ``allow`` is the environment's allow-list check, applied to the URL before anything is sent
(redirects are never followed by the client: a caller that wants to follow a ``Location`` calls
again, and the check runs again).

Pure: httpx and the standard library only, so the readiness engine can use it too.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

#: default cap on the body kept per response (the rest is discarded and counted as truncated)
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
#: default whole-request deadline, seconds
DEFAULT_DEADLINE_S = 10.0


class RequestDeadlineExceeded(httpx.TimeoutException):
    """The whole request (connect, headers and body) took longer than its deadline. ``partial``:
    what had arrived when the status and headers came in time but the body did not end (a stream)."""

    partial: "BoundedResponse | None" = None


@dataclass
class BoundedResponse:
    """What came back, within bounds."""

    status_code: int
    headers: httpx.Headers
    #: header pairs with their original casing and order, as sent on the wire
    raw_headers: list[tuple[str, str]]
    content: bytes
    #: the body went past ``max_bytes``: ``content`` holds the first ``max_bytes``, the rest was not read
    truncated: bool
    #: the body's declared length when the server sent ``Content-Length`` (else ``None``)
    declared_length: int | None
    elapsed_ms: float
    http_version: str = "HTTP/1.1"
    url: str = ""

    @property
    def text(self) -> str:
        return self.content.decode(self.headers.encoding or "utf-8", "replace")

    def json(self) -> Any:
        from tasks.safejson import loads

        return loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300


async def bounded_request(client: httpx.AsyncClient, method: str, url: str, *,
                          max_bytes: int = DEFAULT_MAX_BYTES, deadline_s: float = DEFAULT_DEADLINE_S,
                          allow: Callable[[str], Any] | None = None, **kwargs: Any) -> BoundedResponse:
    """Send one request and read at most ``max_bytes`` of its body, all within ``deadline_s``.

    ``allow(url)`` (when given) runs first and raises to refuse the URL. ``kwargs`` go to
    ``client.build_request`` (``headers``, ``json``, ``content``, ``params``…). Transport failures
    raise httpx's exceptions; the deadline raises :class:`RequestDeadlineExceeded`, a
    ``httpx.TimeoutException``, so callers that classify httpx errors see a timeout.
    """
    if allow is not None:
        allow(url)
    start = time.perf_counter()
    request = client.build_request(method, url, **kwargs)
    response: httpx.Response | None = None
    chunks: list[bytes] = []
    try:
        async with asyncio.timeout(deadline_s):
            response = await client.send(request, stream=True)
            try:
                kept = 0
                truncated = False
                # a response built in memory (httpx.MockTransport) has its body already: read it as one chunk
                raw_chunks = _one(response.content) if response.is_stream_consumed else response.aiter_raw()
                async for chunk in raw_chunks:
                    room = max_bytes - kept
                    if len(chunk) > room:
                        chunks.append(chunk[:room])
                        kept += room
                        truncated = True
                        break
                    chunks.append(chunk)
                    kept += len(chunk)
            finally:
                await response.aclose()
    except TimeoutError as exc:
        err = RequestDeadlineExceeded(f"no complete response within {deadline_s:g}s", request=request)
        if response is not None:  # the status and headers came in time, the body never ended
            err.partial = BoundedResponse(
                status_code=response.status_code, headers=response.headers,
                raw_headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
                content=b"".join(chunks)[:max_bytes], truncated=True, declared_length=None,
                elapsed_ms=(time.perf_counter() - start) * 1000.0, http_version=response.http_version,
                url=str(response.url))
        raise err from exc
    body, inflated_past_cap = _decode(response, b"".join(chunks), max_bytes)
    truncated = truncated or inflated_past_cap
    declared = response.headers.get("content-length")
    return BoundedResponse(
        status_code=response.status_code,
        headers=response.headers,
        raw_headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
        content=body,
        truncated=truncated,
        declared_length=int(declared) if declared and declared.isdigit() else None,
        elapsed_ms=(time.perf_counter() - start) * 1000.0,
        http_version=response.http_version,
        url=str(response.url),
    )


async def _one(data: bytes):
    yield data


def _decode(response: httpx.Response, raw: bytes, max_bytes: int) -> tuple[bytes, bool]:
    """Undo Content-Encoding, keeping at most ``max_bytes`` of the result (a gzip or brotli bomb
    inflates no further than the cap). Returns the body and whether it was cut. Unknown or broken
    encodings leave the raw bytes, which expectations then flag."""
    return inflate(response.headers.get("content-encoding", ""), raw, max_bytes)


def inflate(content_encoding: str, raw: bytes, max_bytes: int) -> tuple[bytes, bool]:
    """Decode ``raw`` by ``content_encoding`` (``gzip``, ``deflate``, ``br``, or a list of them, applied
    in the order given), never holding more than ``max_bytes`` + one buffer of output."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip().lower() not in ("", "identity")]
    if not codings or len(codings) > 4 or any(c not in _DECODERS for c in codings):
        return raw, False
    body, cut = raw, False
    for coding in reversed(codings):  # the last one applied is undone first
        try:
            body, cut_here = _DECODERS[coding](body, max_bytes)
        except Exception:  # noqa: BLE001 - a broken encoding leaves the raw body, which checks will flag
            return raw, False
        cut = cut or cut_here
    return body, cut


def _inflate_zlib(raw: bytes, max_bytes: int, wbits: int) -> tuple[bytes, bool]:
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(raw, max_bytes)
    return out, bool(inflater.unconsumed_tail)


def _inflate_gzip(raw: bytes, max_bytes: int) -> tuple[bytes, bool]:
    return _inflate_zlib(raw, max_bytes, zlib.MAX_WBITS | 32)


def _inflate_deflate(raw: bytes, max_bytes: int) -> tuple[bytes, bool]:
    try:
        return _inflate_zlib(raw, max_bytes, zlib.MAX_WBITS)
    except zlib.error:  # "deflate" sent as a raw stream without the zlib header, as some servers do
        return _inflate_zlib(raw, max_bytes, -zlib.MAX_WBITS)


def _inflate_br(raw: bytes, max_bytes: int) -> tuple[bytes, bool]:
    import brotli  # httpx decodes br only when it is installed: without it we would not either

    decoder = brotli.Decompressor()
    out = decoder.process(raw, output_buffer_limit=max_bytes + 1)
    return out[:max_bytes], len(out) > max_bytes or not decoder.is_finished()


_DECODERS: dict[str, Callable[[bytes, int], tuple[bytes, bool]]] = {
    "gzip": _inflate_gzip, "x-gzip": _inflate_gzip, "deflate": _inflate_deflate, "br": _inflate_br,
}
