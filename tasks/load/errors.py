"""How a request can fail, as the short kinds that ``errors_by_kind`` counts.

    transport (no response)            response (counted with its latency)
    ├── connect_refused                ├── status_4xx / status_5xx / status_other
    ├── connect_timeout                ├── expect      (a body / field / value / content-type check)
    ├── connect_error  (other OSError) ├── slow        (over the step's max_latency_ms)
    ├── dns                            ├── capture     (a capture path is missing: the flow stops)
    ├── tls                            └── too_large   (a body a check reads, or the headers, went
    │                                                   past load.max_body_bytes / body_memory /
    │                                                   the header cap: the rest is not read)
    ├── timeout        (no complete response within the request timeout, or still queued then)
    ├── reset          (connection reset by peer)
    ├── closed         (the server closed the connection before answering)
    ├── protocol       (the response is not valid HTTP/1.1)
    └── template       (a template variable has no value: the flow stops)

Sends the generator could not make are not errors of the target: they are counted apart as
``dropped`` (see ``engine``).
"""

from __future__ import annotations

import socket
import ssl

TRANSPORT_KINDS = ("connect_refused", "connect_timeout", "connect_error", "dns", "tls", "timeout", "reset",
                   "closed", "protocol", "template")
#: a response cut at a cap (see ``client``): counted with the target's errors
TOO_LARGE = "too_large"
CONNECT_KINDS = frozenset({"connect_refused", "connect_timeout", "connect_error", "dns", "tls"})


def status_kind(status: int) -> str:
    if 400 <= status < 500:
        return "status_4xx"
    if 500 <= status < 600:
        return "status_5xx"
    return "status_other"


def classify_connect(exc: BaseException) -> str:
    """The kind of a failure to open a connection."""
    if isinstance(exc, ConnectionRefusedError):
        return "connect_refused"
    if isinstance(exc, TimeoutError):
        return "connect_timeout"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    return "connect_error"


def classify_lost(exc: BaseException | None) -> str:
    """The kind of a connection lost while a request was in flight."""
    if exc is None:
        return "closed"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "reset"
    return "reset"
