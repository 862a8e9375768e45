"""Redact secrets from whatever perfcampaign stores or shows: URLs, headers, cookies, evidence.

A secret reaches a URL or a piece of evidence more often than one thinks: ``?token=…`` and
``?api_key=…`` query parameters, ``#access_token=…`` fragments (OAuth's implicit flow), passwords in
``user:pass@host``, pre-signed URLs (``X-Amz-Signature``), ``Authorization`` and ``Cookie`` headers,
``Bearer …`` and JWTs quoted in error messages. Every function here returns a copy with those values
replaced by :data:`MASK`; names, paths and everything else are kept, so a redacted URL still says
which endpoint was called::

    >>> redact_url("http://127.0.0.1:8101/api/x?id=7&api_key=s3cr3t#access_token=abc")
    'http://127.0.0.1:8101/api/x?id=7&api_key=%5BREDACTED%5D#access_token=%5BREDACTED%5D'
    >>> redact_headers({"Authorization": "Bearer abc.def", "Accept": "*/*"})
    {'Authorization': 'Bearer [REDACTED]', 'Accept': '*/*'}
    >>> redact_text("GET http://h/x?token=abc failed: 401 for Bearer eyJhbGciOi.eyJzdWIi.sig")
    'GET http://h/x?token=%5BREDACTED%5D failed: 401 for Bearer [REDACTED]'

Apply it where a value is stored (warehouse rows, JSON documents, backlog titles) and where it is
shown (report, Slack, CLI): :func:`redact` walks any JSON-like value. Pure: the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

MASK = "[REDACTED]"

#: query parameters, header names, cookie and JSON keys whose value is a secret, compared after
#: lower-casing and removing '-', '_' and '.'
SECRET_NAMES = frozenset({
    "token", "accesstoken", "refreshtoken", "idtoken", "authtoken", "sessiontoken", "csrftoken", "xsrftoken",
    "apikey", "key", "apisecret", "secret", "clientsecret", "password", "passwd", "pwd", "pass", "passphrase",
    "sig", "signature", "auth", "authorization", "proxyauthorization", "cookie", "setcookie", "session",
    "sessionid", "sid", "jwt", "bearer", "credential", "credentials", "privatekey", "code", "otp", "pin",
    "xapikey", "xauthtoken", "xamzsignature", "xamzcredential", "xamzsecuritytoken", "xgoogsignature",
    "xgoogcredential", "sharedaccesssignature",
})
#: parts of a name that make it secret wherever they appear (``X-Shop-Token``, ``db_password``)
_SECRET_PART = re.compile(r"token|secret|passw|api[-_]?key|signature|credential|private[-_]?key|authorization|cookie",
                          re.IGNORECASE)
#: header names whose value is secret whatever their spelling says
_ALWAYS_SECRET_HEADERS = frozenset({"authorization", "proxyauthorization", "cookie", "setcookie"})
_SCHEME = re.compile(r"^(bearer|basic|digest|token|apikey|negotiate|ntlm|aws4-hmac-sha256|hmac)\s+", re.IGNORECASE)
_URL = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>`]+""")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"\b(Bearer)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{4,}|"
                     r"\b(Basic)\s+(?=[A-Za-z0-9+/]*[0-9=])[A-Za-z0-9+/]{6,}={0,2}", re.IGNORECASE)
_PAIR = re.compile(r"""(?P<key>["']?(?P<name>[A-Za-z][A-Za-z0-9_.-]{0,63})["']?\s*(?P<sep>[:=])\s*)"""
                   r"""(?P<scheme>(?:Bearer|Basic|Token|Digest|ApiKey)\s+)?"""
                   r"""(?P<value>"[^"]*"|'[^']*'|[^\s,;&"'}\]]+)""", re.IGNORECASE)

T = TypeVar("T")


def _norm(name: str) -> str:
    return re.sub(r"[-_.\s]", "", name.lower())


#: names secret in a URL's query or a header, but an identity or a status in a JSON document
#: (a backlog item's ``key``, an error's ``code``)
_IDENTITY_FIELDS = frozenset({"key", "code"})


def _is_secret_field(name: str) -> bool:
    return _norm(name) not in _IDENTITY_FIELDS and is_secret_name(name)


def is_secret_name(name: str) -> bool:
    """Whether a query parameter, header, cookie or field called ``name`` holds a secret."""
    norm = _norm(str(name))
    return norm in SECRET_NAMES or bool(_SECRET_PART.search(str(name)))


def redact_url(url: str) -> str:
    """The URL with secret query/fragment values and a userinfo password masked; JWTs anywhere in it too."""
    if not isinstance(url, str) or not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _JWT.sub(MASK, url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:{quote(MASK)}@{hostport}" if sep else f"{quote(MASK)}@{hostport}"
    query = _redact_query(parts.query)
    fragment = _redact_query(parts.fragment) if "=" in parts.fragment else parts.fragment
    path = _JWT.sub(quote(MASK), parts.path)
    if (netloc, query, fragment, path) == (parts.netloc, parts.query, parts.fragment, parts.path):
        return url
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def _redact_query(query: str) -> str:
    if not query:
        return query
    out = []
    changed = False
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        try:
            decoded = parse_qsl(f"{name}=", keep_blank_values=True)
            plain = decoded[0][0] if decoded else name
        except ValueError:
            plain = name
        if sep and value and (is_secret_name(plain) or _JWT.search(value)):
            out.append(f"{name}={quote(MASK)}")
            changed = True
        else:
            out.append(piece)
    return "&".join(out) if changed else query


def redact_header_value(name: str, value: str) -> str:
    """``Authorization: Bearer abc`` → ``Bearer [REDACTED]``; a cookie keeps its names; other values
    are checked for JWTs and secret-bearing URLs."""
    text = str(value)
    norm = _norm(name)
    if norm in ("cookie",):
        return redact_cookie(text)
    if norm == "setcookie":
        first, sep, attrs = text.partition(";")
        cname, eq, _ = first.partition("=")
        return f"{cname.strip()}={MASK}{sep}{attrs}" if eq else MASK
    if norm in _ALWAYS_SECRET_HEADERS or is_secret_name(name):
        scheme = _SCHEME.match(text.strip())
        return f"{scheme.group(1)} {MASK}" if scheme else MASK
    if norm in ("location", "contentlocation", "referer", "link", "refresh"):
        return redact_text(text)
    return _JWT.sub(MASK, text)


def redact_cookie(value: str) -> str:
    """``a=1; session=xyz`` → ``a=[REDACTED]; session=[REDACTED]``: names stay, values never do."""
    out = []
    for piece in str(value).split(";"):
        name, eq, _ = piece.partition("=")
        out.append(f"{name.strip()}={MASK}" if eq else piece.strip())
    return "; ".join(p for p in out if p)


def redact_headers(headers: T) -> T:
    """A copy of ``headers`` (a mapping, or a list of ``(name, value)`` pairs) with secret values masked."""
    if isinstance(headers, Mapping):
        return type(headers)((k, redact_header_value(k, v)) for k, v in headers.items()) \
            if type(headers) is dict else {k: redact_header_value(k, v) for k, v in headers.items()}  # type: ignore[return-value]
    if isinstance(headers, (list, tuple)):
        return type(headers)((k, redact_header_value(k, v)) for k, v in headers)  # type: ignore[return-value]
    return headers


def redact_text(text: str) -> str:
    """Free text (an error message, a log line, a backlog title): URLs, ``Bearer …``, JWTs and
    ``password=…`` / ``"token": "…"`` pairs masked."""
    if not isinstance(text, str) or not text:
        return text
    out = _URL.sub(_url_in_text, text)

    def pair(m: re.Match[str]) -> str:
        if not is_secret_name(m.group("name")) or MASK in m.group("value") or quote(MASK) in m.group("value"):
            return m.group()
        value = m.group("value")
        quote_char = value[0] if value[:1] in ("'", '"') else ""
        return f"{m.group('key')}{m.group('scheme') or ''}{quote_char}{MASK}{quote_char}"

    out = _PAIR.sub(pair, out)
    out = _BEARER.sub(lambda m: f"{m.group(1) or m.group(2)} {MASK}", out)
    return _JWT.sub(MASK, out)


def _url_in_text(m: re.Match[str]) -> str:
    url = m.group()
    tail = len(url) - len(url.rstrip(".,;:!?)]}"))
    return redact_url(url[:len(url) - tail]) + url[len(url) - tail:] if tail else redact_url(url)


def redact(value: Any, _depth: int = 0) -> Any:
    """Any JSON-like value: keys that name a secret get their value masked, strings are passed
    through :func:`redact_text`, header-like pair lists through :func:`redact_headers`."""
    if _depth > 64:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and _is_secret_field(k) and isinstance(v, (str, int, float)) \
                    and not isinstance(v, bool) and v != "":
                out[k] = redact_header_value(k, v) if isinstance(v, str) else MASK
            else:
                out[k] = redact(v, _depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[0], str) for p in value):
            return type(value)((k, redact_header_value(k, v) if isinstance(v, str) else redact(v, _depth + 1))
                               for k, v in value)
        return type(value)(redact(v, _depth + 1) for v in value)
    return value


def redact_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row (a warehouse row, a backlog item): each value redacted, column names never taken
    for secret names (a backlog item's ``key`` is its identity, not a credential)."""
    return {k: redact(v) for k, v in row.items()}


def contains_secret(text: str, secrets: list[str]) -> list[str]:
    """Which of ``secrets`` appear in ``text`` (raw or percent-encoded): for tests that plant secrets
    and scan every output."""
    found = []
    for secret in secrets:
        if secret and (secret in text or quote(secret, safe="") in text):
            found.append(secret)
    return found


__all__ = ["MASK", "SECRET_NAMES", "is_secret_name", "redact", "redact_row", "redact_url", "redact_headers",
           "redact_header_value", "redact_cookie", "redact_text", "contains_secret"]
