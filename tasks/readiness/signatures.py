"""Known mock-server fingerprints, each with where it was verified.

A fingerprint looks at one recorded response (headers with their original
casing, body) and returns a short quote of what matched, or ``None``.

Weights: 5.0 = the tool names itself (a header or error body nobody else
sends); 4.0 = an exact default header *set* of the tool; 2.0-3.0 = a strong
hint that a real server could still produce; ≤1.0 = generic dev-server
smell.  :mod:`tasks.readiness.verdict` treats a summed signature weight ≥ 4
as an identification of the tool (see there).

Sources ("live" = observed on loopback while writing this module, with the
npm packages ``@stoplight/prism-cli`` 5.x, ``json-server`` 0.17.4 and
1.0.0-beta.15, ``@mockoon/cli`` 9.9.0 and ``wiremock`` (standalone 3.13.2)):

* WireMock — ``Matched-Stub-Id`` / ``Matched-Stub-Name`` response headers
  (wiremock ``StubResponseRenderer``; ``DebugHeadersAcceptanceTest``;
  changelog "Added debug response headers Matched-Stub-Id and
  Matched-Stub-Name", 2018); unmatched requests get a 404 ``text/plain``
  body "Request was not matched" with a closest-stub diff.  Live.
* Prism — error bodies are ``application/problem+json`` whose ``type`` starts
  with ``https://stoplight.io/prism/errors#`` (e.g. ``NO_PATH_MATCHED_ERROR``);
  validation problems go to the ``sl-violations`` header (Prism docs and
  client code reading it — and, live, also on responses Prism *proxies*);
  every response carries the CORS set
  ``Access-Control-Allow-Origin: *``, ``-Headers: *``, ``-Credentials: true``,
  ``-Expose-Headers: *`` and success responses spell the header
  ``Content-type`` (lower-case t).  Live.  In validation-proxy mode
  (``prism proxy``) the CORS set and ``sl-violations`` are added on top of
  the backend's own (lower-cased) headers: those responses are real, see
  :func:`looks_proxied`.
* Mockoon — ``x-mockoon-route-uuid`` / ``x-mockoon-route-response-uuid``
  (``@mockoon/commons-server`` ``setRouteMetadataHeaders``, opt-in); default
  CORS headers ``Access-Control-Allow-Methods: GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS``
  and ``Access-Control-Allow-Headers: Content-Type, Origin, Accept,
  Authorization, Content-Length, X-Requested-With`` (``@mockoon/commons``
  ``CORSHeaders``, put in every new environment's headers and applied by a
  middleware to all responses — proxied ones too).  Live.
* json-server 0.x — ``lib/server/defaults.js``: ``cors({origin: true,
  credentials: true})`` plus the "no cache for IE" trio ``Cache-Control:
  no-cache``, ``Pragma: no-cache``, ``Expires: -1`` on Express; home page
  ``<title>JSON Server</title>``.  Live.
* json-server 1.x — tinyhttp (``X-Powered-By: tinyhttp``) with
  ``@tinyhttp/cors`` defaults (``Access-Control-Allow-Methods: GET, HEAD,
  PUT, PATCH, POST, DELETE``); same home-page title.  Live.
* Postman mock servers — unmatched requests answer
  ``{"error": {"name": "mockRequestNotFoundError", ...}}`` (quoted by many
  public projects testing against ``*.mock.pstmn.io``); Postman's edge adds
  ``x-srv-trace`` / ``x-srv-span`` (also on the real Postman API, so only a
  hint).
* MSW (0.x) — default ``x-powered-by: msw`` on every mocked response
  (msw ``src/response.ts``).
* Hoverfly — ``Hoverfly: Was-Here`` on simulated responses (asserted by
  pytest-hoverfly's tests).
* mockyeah — ``x-mockyeah-mocked`` / ``x-mockyeah-missed`` (mockyeah PR #248,
  issue #363).
* Mimicry — ``x-mimicry-version`` / ``x-mimicry-codename``
  (``lib/mimicry_api/response_headers.ex``).
* Mocklets — ``x-mocklets-src: mock`` (docs.mocklets.com/response-headers).
* stubby 5 (stubby4node) — ``x-stubby-resource-id`` on every stubbed answer;
  stubby has no proxy mode, so every answer carrying it is a stub.  Live
  5.1.1 (held-out bed, round 3).  Mockintosh's ``X-Mockintosh-Prompt`` is on
  relayed (``fallbackTo``) answers too: a hint only.
* Python ``http.server`` — ``Server: BaseHTTP/x Python/y`` (CPython
  ``BaseHTTPRequestHandler.server_version``): not a mock tool, but real
  services are not served by it; kept weak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Protocol
from tasks import safejson


class ResponseLike(Protocol):  # pragma: no cover - typing only
    headers: list[tuple[str, str]]
    body: bytes
    status: int | None

    def header(self, name: str) -> str | None: ...


@dataclass(frozen=True)
class Fingerprint:
    id: str
    tool: str
    weight: float
    source: str
    match: Callable[[ResponseLike], str | None]
    where: str = "header"   # "header" | "body"
    #: the tool also adds this to responses it *proxies* from a real backend
    #: (Prism validation proxy, Mockoon proxy mode): ignored when the response
    #: carries the backend's own headers (see :func:`looks_proxied`).
    proxy_sensitive: bool = False


def _h(resp: ResponseLike, name: str) -> str | None:
    return resp.header(name)


def _header_present(*names: str) -> Callable[[ResponseLike], str | None]:
    def m(resp: ResponseLike) -> str | None:
        for n in names:
            v = _h(resp, n)
            if v is not None:
                return f"{n}: {v}"
        return None
    return m


def _header_equals(name: str, pattern: str, flags: int = re.IGNORECASE) -> Callable[[ResponseLike], str | None]:
    rx = re.compile(pattern, flags)

    def m(resp: ResponseLike) -> str | None:
        v = _h(resp, name)
        if v is not None and rx.fullmatch(v.strip()):
            return f"{name}: {v}"
        return None
    return m


def _all_of(*matchers: Callable[[ResponseLike], str | None]) -> Callable[[ResponseLike], str | None]:
    def m(resp: ResponseLike) -> str | None:
        quotes = []
        for sub in matchers:
            q = sub(resp)
            if q is None:
                return None
            quotes.append(q)
        return "; ".join(quotes)
    return m


def _body_regex(pattern: str, flags: int = 0, *, max_bytes: int = 65536) -> Callable[[ResponseLike], str | None]:
    rx = re.compile(pattern, flags)

    def m(resp: ResponseLike) -> str | None:
        text = resp.body[:max_bytes].decode("utf-8", "replace") if resp.body else ""
        hit = rx.search(text)
        if hit:
            return f"body contains {hit.group(0)[:80]!r}"
        return None
    return m


def _json_keys_exactly(*keys: str) -> Callable[[ResponseLike], str | None]:
    want = set(keys)

    def m(resp: ResponseLike) -> str | None:
        if not resp.body or not resp.body.lstrip().startswith(b"{"):
            return None
        try:
            doc = safejson.loads(resp.body[:65536])
        except ValueError:
            return None
        if isinstance(doc, dict) and set(doc) == want:
            return "a JSON object with exactly the keys " + ", ".join(keys)
        return None
    return m


def _raw_header_name(exact: str) -> Callable[[ResponseLike], str | None]:
    def m(resp: ResponseLike) -> str | None:
        for k, v in resp.headers:
            if k == exact:
                return f"header spelled {k!r} ({k}: {v})"
        return None
    return m


def _server_header_matching(pattern: str) -> Callable[[ResponseLike], str | None]:
    rx = re.compile(pattern, re.IGNORECASE)

    def m(resp: ResponseLike) -> str | None:
        for name in ("Server", "X-Powered-By"):
            v = _h(resp, name)
            if v and rx.search(v):
                return f"{name}: {v}"
        return None
    return m


_MOCK_TOOL_NAMES = (r"wiremock|mockserver|mock-server|mockoon|imposter|stubby|mountebank|hoverfly|json-server|"
                    r"beeceptor|mocky\b|mockintosh|smocker|camouflage|castlemock|microcks|mocklab")
_server_names_mock_tool = _server_header_matching(_MOCK_TOOL_NAMES)
_TOOL_IN_HEADER_NAME = re.compile(r"(^|[-_])(" + _MOCK_TOOL_NAMES.replace(r"mock-server|", "") + r")([-_]|$)",
                                  re.IGNORECASE)


def _header_name_names_tool(resp: ResponseLike) -> str | None:
    """A header the tool names after itself (Mockintosh's ``X-Mockintosh-Prompt``: held-out bed, round 3)."""
    for k, v in resp.headers:
        if k.lower() not in _KNOWN_TOOL_HEADERS and _TOOL_IN_HEADER_NAME.search(k):
            return f"{k}: {v[:60]}"
    return None
_server_hints_mock = _server_header_matching(r"\bprism\b|\bmirage\b|\bmock\b|\bstub\b|\bfake\b")


_KNOWN_TOOL_HEADERS = {"x-stubby-resource-id", "matched-stub-id", "matched-stub-name", "x-mockoon-route-uuid", "x-mockoon-route-response-uuid",
                       "x-mockoon-route-response-no", "x-mockyeah-mocked", "x-mockyeah-missed", "x-mockyeah-proxied"}


def _header_name_mentions_mock(resp: ResponseLike) -> str | None:
    for k, v in resp.headers:
        kl = k.lower()
        if kl in _KNOWN_TOOL_HEADERS:
            continue
        if re.search(r"(^|[-_])(mock|mocked|mocks|stub|stubbed|stubs|fake|faked)([-_]|$)", kl):
            return f"{k}: {v[:60]}"
    return None


FINGERPRINTS: tuple[Fingerprint, ...] = (
    # --- tools naming themselves ------------------------------------------------
    Fingerprint("wiremock-matched-stub", "WireMock", 5.0,
                "wiremock StubResponseRenderer / DebugHeadersAcceptanceTest; live 3.13.2",
                _header_present("Matched-Stub-Id", "Matched-Stub-Name")),
    Fingerprint("wiremock-unmatched", "WireMock", 5.0,
                "WireMock 404 'Request was not matched' diff page; live 3.13.2",
                _body_regex(r"Request was not matched"), "body"),
    Fingerprint("prism-problem-type", "Prism", 5.0,
                "Prism problem+json errors (https://stoplight.io/prism/errors#...); live prism-cli 5.x",
                _body_regex(r"https://stoplight\.io/prism/errors#[A-Z_]+"), "body"),
    Fingerprint("prism-sl-violations", "Prism", 1.0,
                "Prism 'sl-violations' validation header (mock *and* validation-proxy mode; live prism-cli 5.x)",
                _header_present("sl-violations"), proxy_sensitive=True),
    Fingerprint("mockoon-crud-counts", "Mockoon", 4.0,
                "@mockoon/commons-server libs/server/crud.js sets X-Filtered-Count beside X-Total-Count on CRUD "
                "lists; live @mockoon/cli 9.9.0",
                _header_present("X-Filtered-Count")),
    Fingerprint("mockoon-route-headers", "Mockoon", 5.0,
                "@mockoon/commons-server setRouteMetadataHeaders",
                _header_present("x-mockoon-route-uuid", "x-mockoon-route-response-uuid",
                                "x-mockoon-route-response-no")),
    Fingerprint("json-server-home", "json-server", 5.0,
                "json-server home page (0.17.4 public/index.html, 1.0 views/index.html); live",
                _body_regex(r"<title>\s*JSON Server\s*</title>|github\.com/typicode/json-server"), "body"),
    Fingerprint("json-server-1-pages", "json-server", 5.0,
                "json-server 1.x src/service.ts paginate(): ?_page=&_per_page= wraps a collection in "
                "{first, prev, next, last, pages, items, data}; live 1.0.0-beta.15",
                _json_keys_exactly("first", "prev", "next", "last", "pages", "items", "data"), "body"),
    Fingerprint("postman-mock-not-found", "Postman mock server", 5.0,
                "Postman mock server error body 'mockRequestNotFoundError'",
                _body_regex(r"mockRequestNotFoundError"), "body"),
    Fingerprint("msw", "MSW", 5.0, "msw src/response.ts default header x-powered-by: msw",
                _header_equals("X-Powered-By", r"msw")),
    Fingerprint("hoverfly", "Hoverfly", 5.0, "pytest-hoverfly tests: 'Hoverfly adds Hoverfly: Was-Here header'",
                _header_equals("Hoverfly", r"was-here")),
    Fingerprint("mockyeah", "mockyeah", 5.0, "mockyeah PR #248 / issue #363",
                _header_present("x-mockyeah-mocked", "x-mockyeah-missed", "x-mockyeah-proxied")),
    Fingerprint("mimicry", "Mimicry", 5.0, "mimicry-tech/mimicry lib/mimicry_api/response_headers.ex",
                _header_present("x-mimicry-version", "x-mimicry-codename")),
    Fingerprint("mocklets", "Mocklets", 5.0, "docs.mocklets.com/response-headers",
                _header_equals("x-mocklets-src", r"mock")),
    Fingerprint("server-names-mock-tool", "mock tool", 4.0,
                "Server / X-Powered-By naming a mock tool (heuristic)", _server_names_mock_tool),
    Fingerprint("stubby-resource-id", "stubby", 5.0,
                "stubby4node sets x-stubby-resource-id on every stubbed answer and has no proxy mode; live 5.1.1",
                _header_present("x-stubby-resource-id")),
    Fingerprint("header-names-mock-tool", "mock tool", 1.0,
                "a response header named after a mock tool (X-Mockintosh-Prompt): a hint only, as a tool in proxy "
                "mode stamps it on relayed answers too (live: Mockintosh 0.13.17 fallbackTo)", _header_name_names_tool),
    Fingerprint("server-hints-mock", "mock tool", 2.5,
                "Server / X-Powered-By containing prism/mirage/mock/stub/fake (heuristic)", _server_hints_mock),
    # --- exact default header sets ---------------------------------------------------
    Fingerprint("prism-cors-set", "Prism", 3.0,
                "Prism CORS defaults (ACAO *, ACAH *, ACAC true, ACEH *); live prism-cli 5.x",
                _all_of(_header_equals("Access-Control-Allow-Origin", r"\*"),
                        _header_equals("Access-Control-Allow-Headers", r"\*"),
                        _header_equals("Access-Control-Allow-Credentials", r"true"),
                        _header_equals("Access-Control-Expose-Headers", r"\*")), proxy_sensitive=True),
    Fingerprint("prism-content-type-casing", "Prism", 1.0,
                "Prism writes 'Content-type' (lower-case t); live prism-cli 5.x",
                _raw_header_name("Content-type")),
    Fingerprint("mockoon-cors-defaults", "Mockoon", 4.0,
                "@mockoon/commons CORSHeaders constant; live @mockoon/cli 9.9.0",
                _all_of(_header_equals("Access-Control-Allow-Methods", r"GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS",
                                       0),
                        _header_equals("Access-Control-Allow-Headers",
                                       r"Content-Type, Origin, Accept, Authorization, Content-Length, "
                                       r"X-Requested-With", 0)), proxy_sensitive=True),
    Fingerprint("json-server-0-defaults", "json-server", 4.0,
                "json-server 0.17 lib/server/defaults.js (cors credentials + no-cache trio on Express); live",
                _all_of(_header_equals("X-Powered-By", r"Express"),
                        _header_equals("Access-Control-Allow-Credentials", r"true"),
                        _header_equals("Cache-Control", r"no-cache"),
                        _header_equals("Pragma", r"no-cache"),
                        _header_equals("Expires", r"-1"))),
    Fingerprint("json-server-1-defaults", "json-server", 2.5,
                "json-server 1.x = tinyhttp + @tinyhttp/cors defaults; live 1.0.0-beta.15",
                _all_of(_header_equals("X-Powered-By", r"tinyhttp"),
                        _header_equals("Access-Control-Allow-Methods", r"GET, HEAD, PUT, PATCH, POST, DELETE", 0))),
    # --- hints ---------------------------------------------------------------------------
    Fingerprint("header-name-mock", "hand-made mock", 2.5,
                "a response header named like X-Mock / X-Stub / X-Fake (heuristic)", _header_name_mentions_mock),
    Fingerprint("postman-edge", "Postman", 2.0,
                "x-srv-trace / x-srv-span from Postman's edge (also on the real Postman API)",
                _all_of(_header_present("x-srv-trace"), _header_present("x-srv-span"))),
    Fingerprint("python-basehttp", "Python http.server", 1.0,
                "CPython BaseHTTPRequestHandler server_version 'BaseHTTP/x'",
                _header_equals("Server", r"(BaseHTTP|SimpleHTTP)/\S+.*")),
)

#: Fingerprints that identify a tool when seen on the endpoint itself.
IDENTIFYING_WEIGHT = 4.0


_PRISM_OWN_LOWERCASE = {"content-type", "sl-violations"}


def looks_proxied(resp: ResponseLike) -> str | None:
    """Does a response carry a backend's own headers, i.e. was it relayed by a
    mock tool acting as a proxy rather than generated by it?

    Prism and Mockoon never send ``Server`` or ``X-Powered-By`` themselves;
    Prism's proxy relays the backend's headers in lower case (``date``,
    ``server``...), while its own generated responses spell ``Date`` and
    ``Content-type`` (observed live, prism-cli 5.x mock vs proxy).  A
    ``Content-type`` spelling means Prism generated the body: not proxied.
    """
    names = [k for k, _ in resp.headers]
    if "Content-type" in names:
        return None
    for k, v in resp.headers:
        if k.lower() in ("server", "x-powered-by"):
            return f"{k}: {v}"
    for k in names:
        if k == k.lower() and k in ("date", "etag", "last-modified", "vary", "cache-control"):
            return f"lower-case relayed header {k!r}"
    return None


def match_fingerprints(resp: ResponseLike, *, suppressed: list | None = None) -> list[tuple[Fingerprint, str]]:
    """All fingerprints matching one response, with the quoted observation.

    Proxy-sensitive fingerprints on a response that :func:`looks_proxied` are
    left out (appended to ``suppressed`` when a list is given)."""
    proxied = looks_proxied(resp)
    out = []
    for fp in FINGERPRINTS:
        try:
            quote = fp.match(resp)
        except Exception:  # a broken matcher must never break a verdict
            quote = None
        if quote and fp.proxy_sensitive and proxied:
            if suppressed is not None:
                suppressed.append((fp, f"{quote} — but also {proxied}"))
            continue
        if quote:
            out.append((fp, quote))
    ids = {fp.id for fp, _ in out}
    if "server-names-mock-tool" in ids:  # the weaker twin would double count
        out = [(fp, q) for fp, q in out if fp.id != "server-hints-mock"]
    return out


def admin_fingerprint(obs: ResponseLike, control: ResponseLike | None) -> tuple[str, float, str, str] | None:
    """A mock tool's admin API answering on the host: ``(tool, weight, quote, source)`` or None.

    * WireMock — ``GET /__admin/mappings`` lists the stub mappings (``{"mappings": [...], "meta":
      {"total": n}}``; WireMock admin API, live 3.13.2).
    * Mockoon — ``/mockoon-admin`` is the admin API of every running environment (enabled by
      default, ``@mockoon/commons-server`` ``admin-api.js``): its welcome message, or a 401 where
      a random path answers 404 (a token is set). Live @mockoon/cli 9.9.0.
    """
    path = str(getattr(obs, "meta", {}).get("path", ""))
    status = obs.status
    text = obs.body[:4096].decode("utf-8", "replace") if obs.body else ""
    if path.startswith("/__admin") and status == 200 and '"mappings"' in text and ('"meta"' in text or
                                                                                     '"total"' in text):
        return "WireMock", 5.0, f"GET {path} lists stub mappings", "WireMock admin API /__admin/mappings; live 3.13.2"
    if path.startswith("/mockoon-admin"):
        if status == 200 and re.search(r"Mockoon'?s admin API", text):
            return "Mockoon", 5.0, f"GET {path} answered {status}: {text[:60]!r}", \
                "@mockoon/commons-server admin-api.js; live 9.9.0"
        if control is not None and control.status == 404 and status in (200, 401, 403):
            return "Mockoon", 4.0, f"GET {path} answered {status} where a random path answers 404", \
                "@mockoon/commons-server admin-api.js (admin API on by default); live 9.9.0"
    return None
