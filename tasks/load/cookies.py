"""A cookie jar per virtual user, as Artillery's and k6's (each iteration starts with an empty jar).

The built-in engine sends pre-built request bytes, so the jar costs nothing until a response
carries ``Set-Cookie``: the connection spots the header (``client.CookieConnection``), the
iteration's jar stores it (:meth:`CookieJar.store`) and only then are later requests of that
iteration rewritten with a ``Cookie`` header (:meth:`CookieJar.apply`).

Semantics follow RFC 6265 for one origin (the engine talks to one host): ``Max-Age`` (0 or less
deletes) wins over ``Expires``; ``Path`` defaults to the directory of the request path and is
matched by prefix; a ``Domain`` the host does not match is refused; ``Secure`` cookies are only
sent over https; a cookie set again replaces the old one (name + path).
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime

_SET_COOKIE = re.compile(rb"(?im)^set-cookie[ \t]*:[ \t]*([^\r\n]*)")
_COOKIE_LINE = re.compile(rb"(?im)^cookie[ \t]*:[^\r\n]*")


def set_cookie_values(data: bytes) -> list[bytes]:
    """The ``Set-Cookie`` header values in a chunk of a response."""
    return _SET_COOKIE.findall(data)


def _default_path(request_path: str) -> str:
    path = request_path.split("?", 1)[0]
    if not path.startswith("/") or path.count("/") <= 1:
        return "/"
    return path[: path.rindex("/")]


def _path_matches(request_path: str, cookie_path: str) -> bool:
    path = request_path.split("?", 1)[0] or "/"
    if path == cookie_path:
        return True
    if path.startswith(cookie_path):
        return cookie_path.endswith("/") or path[len(cookie_path)] == "/"
    return False


def _domain_matches(host: str, domain: str) -> bool:
    domain = domain.lstrip(".").lower()
    host = host.lower()
    return host == domain or (host.endswith("." + domain) and not host.replace(".", "").isdigit())


class CookieJar:
    """The cookies of one virtual user for one origin."""

    __slots__ = ("host", "secure", "cookies")

    def __init__(self, host: str, secure: bool):
        self.host = host
        self.secure = secure
        #: (name, path) → (value, expires_at or None, secure only)
        self.cookies: dict[tuple[str, str], tuple[str, float | None, bool]] = {}

    def __bool__(self) -> bool:
        return bool(self.cookies)

    def store(self, values: list[bytes], request_path: str) -> None:
        """Take the ``Set-Cookie`` values of a response to ``request_path``."""
        now = time.time()
        for raw in values:
            text = raw.decode("latin-1")
            parts = [p.strip() for p in text.split(";")]
            if not parts or "=" not in parts[0]:
                continue
            name, _, value = parts[0].partition("=")
            name, value = name.strip(), value.strip()
            if not name:
                continue
            path, expires, secure, domain_ok = _default_path(request_path), None, False, True
            max_age_seen = False
            for attr in parts[1:]:
                key, _, val = attr.partition("=")
                key, val = key.strip().lower(), val.strip()
                if key == "max-age":
                    try:
                        expires = now + int(val)
                        max_age_seen = True
                    except ValueError:
                        pass
                elif key == "expires" and not max_age_seen:
                    try:
                        expires = parsedate_to_datetime(val).timestamp()
                    except (TypeError, ValueError, IndexError, OverflowError):
                        pass
                elif key == "path" and val.startswith("/"):
                    path = val
                elif key == "domain" and val:
                    domain_ok = _domain_matches(self.host, val)
                elif key == "secure":
                    secure = True
            if not domain_ok:
                continue
            if expires is not None and expires <= now:
                self.cookies.pop((name, path), None)
            else:
                self.cookies[(name, path)] = (value, expires, secure)

    def header(self, request_path: str) -> str | None:
        """The ``Cookie`` header value for a request to ``request_path`` (None when nothing applies)."""
        now = time.time()
        chosen = []
        for (name, path), (value, expires, secure) in self.cookies.items():
            if expires is not None and expires <= now:
                continue
            if secure and not self.secure:
                continue
            if _path_matches(request_path, path):
                chosen.append((len(path), name, value))
        if not chosen:
            return None
        chosen.sort(key=lambda c: -c[0])  # longer paths first (RFC 6265 5.4)
        return "; ".join(f"{name}={value}" for _, name, value in chosen)

    def apply(self, data: bytes) -> bytes:
        """Pre-built request bytes with the jar's cookies added (merged into a ``Cookie`` header the
        request already has)."""
        line_end = data.find(b"\r\n")
        try:
            target = data[:line_end].split(b" ", 2)[1].decode("latin-1")
        except IndexError:
            return data
        value = self.header(target)
        if value is None:
            return data
        head_end = data.find(b"\r\n\r\n")
        head, rest = data[:head_end], data[head_end:]
        existing = _COOKIE_LINE.search(head)
        if existing is not None:
            merged = existing.group(0) + b"; " + value.encode("latin-1")
            return head[:existing.start()] + merged + head[existing.end():] + rest
        return head + b"\r\nCookie: " + value.encode("latin-1") + rest
