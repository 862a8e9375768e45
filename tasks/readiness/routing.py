"""Missing route or missing entity? Two different 404s, told apart from evidence.

A 404 says "nothing here", not why. ``GET /flows/3fa85f64-…`` answering ``{"detail": "Flow not
found"}`` is a route that works, asked for an id that does not exist; ``GET /notifications/
unread-count`` answering ``{"detail": "Not Found"}`` is a route that does not exist. The router's
own 404 is the reference: :class:`RouteOracle` asks, once per origin and path prefix, for a path
that surely does not exist (``/api/zz-readiness-…/…``) and compares:

* a 404 that differs from the router's own (another body, another content type, the body naming
  the entity) comes from a handler: the route **exists**;
* ``OPTIONS`` on the endpoint answered differently from ``OPTIONS`` on the unknown path (405 with
  an ``Allow`` header where the unknown path gets 404): the route **exists**;
* otherwise the 404 is indistinguishable from the router's: the route is **missing**.

Bodies are compared after masking what legitimately differs between two 404s of one router: the
path and method, ids, numbers, UUIDs, timestamps and request ids. A mock tool's "no stub matched"
page (WireMock, Prism) counts as the router's own, whatever it quotes.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .probe import Observation, Prober, origin_of

_UNMATCHED_RE = re.compile(r"Request was not matched|NO_PATH_MATCHED_ERROR|mockRequestNotFoundError|"
                           r"No mock found|Hoverfly Error|Cannot (GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) ")
_MASKS = (
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b[0-9a-fA-F]{12,}\b"), "<hex>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
    (re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\b"), "<method>"),
)
_VOLATILE_KEYS = re.compile(r"time|date|stamp|trace|request_?id|correlation|span|path|url|instance|uri", re.I)


@dataclass
class RouteCheck:
    """The answer for one 404: ``exists`` True (a handler answered), False (the router did), or
    None (nothing could be compared); ``detail`` quotes what decided it."""

    exists: bool | None
    detail: str
    control: Observation | None = None


def _mask_text(text: str, masks: list[str]) -> str:
    for m in sorted((m for m in masks if m and len(m) >= 2), key=len, reverse=True):
        text = text.replace(m, "<path>")
    for rx, token in _MASKS:
        text = rx.sub(token, text)
    return re.sub(r"\s+", " ", text).strip()[:600]


def _shape(value: Any, masks: list[str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: ("<v>" if _VOLATILE_KEYS.search(str(k)) else _shape(v, masks, str(k)))
                for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_shape(v, masks, key) for v in value[:5]]
    if isinstance(value, str):
        return _mask_text(value, masks)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "<n>"
    return value


def not_found_signature(obs: Observation, masks: list[str]) -> tuple:
    """What stays the same between two of one router's 404s for two different paths."""
    text = obs.text
    if _UNMATCHED_RE.search(text):
        return (obs.status, "tool-unmatched")
    if obs.is_json:
        body: Any = json.dumps(_shape(obs.json, masks), sort_keys=True)
    else:
        body = _mask_text(text, masks)
    return (obs.status, obs.content_type, body)


def _masks_for(obs: Observation) -> list[str]:
    path = urlsplit(obs.url).path
    segs = [s for s in path.split("/") if s]
    return [path, path.rstrip("/"), *segs, obs.method]


def same_not_found(a: Observation, b: Observation) -> bool:
    masks = _masks_for(a) + _masks_for(b)
    return not_found_signature(a, masks) == not_found_signature(b, masks)


def control_path(url: str) -> str:
    """A path under the endpoint's mount prefix that surely does not exist: the literal segments
    before the endpoint's resource name, then two random ones."""
    path = urlsplit(url).path
    segs = [s for s in path.split("/") if s]
    lit = []
    for s in segs:
        if "{" in s or re.fullmatch(r"[0-9a-fA-F-]{8,}|\d+", s):
            break
        lit.append(s)
    prefix = lit[:-1] if len(lit) >= 1 else []
    return "/" + "/".join(prefix + [f"zz-readiness-{secrets.token_hex(4)}", secrets.token_hex(3)])


class RouteOracle:
    """Shared by a run: the router's own 404 (and its OPTIONS answer), once per origin and prefix."""

    def __init__(self) -> None:
        self._controls: dict[tuple[str, str], asyncio.Future] = {}
        #: the campaign's route templates (full URLs): a control path one of them matches is no control
        self.templates: list[str] = []

    def _caught_by(self, url: str) -> str | None:
        """The campaign route a "surely nonexistent" path still matches (verdaccio's ``/{pkg}/{version}``
        takes any two segments), or None."""
        from .identifiers import route_regex, strip_url

        plain = strip_url(url)
        for template in self.templates:
            if "{" in template and re.fullmatch(route_regex(template), plain):
                return urlsplit(strip_url(template)).path
        return None

    async def _control(self, url: str, prober: Prober, headers: dict[str, str]) -> tuple[Observation | None,
                                                                                         Observation | None]:
        origin = origin_of(url)
        cpath = control_path(url)
        key = (origin, cpath.rsplit("/", 2)[0])
        fut = self._controls.get(key)
        if fut is None:
            async def probe() -> tuple[Observation | None, Observation | None]:
                prober.budget += 2  # shared: not charged to the endpoint that happened to ask first
                get = await prober.send("route-control", "GET", origin + cpath, headers)
                opt = await prober.send("route-control-options", "OPTIONS", origin + cpath, headers)
                return get, opt
            fut = asyncio.ensure_future(probe())
            self._controls[key] = fut
        try:
            return await asyncio.shield(fut)
        except Exception:
            return None, None

    async def check(self, obs: Observation, prober: Prober, headers: dict[str, str]) -> RouteCheck:
        """Does the route that answered ``obs`` (a 404/410) exist?"""
        control, control_opt = await self._control(obs.url, prober, headers)
        if control is None or not control.ok:
            return RouteCheck(None, "the router's own 404 could not be observed", control)
        caught = self._caught_by(control.url)
        if caught:
            return RouteCheck(None, f"a path that surely does not exist ({urlsplit(control.url).path}) still matches "
                                    f"the campaign's route {caught}, so the router's own 404 cannot be observed "
                                    f"there", control)
        if control.status not in (404, 410):
            # the prefix answers anything (SPA fallback, catch-all): compare the endpoint's 404 itself
            return RouteCheck(True, f"a path that surely does not exist answered {control.status}, not 404, "
                                    f"so this {obs.status} comes from the route's handler", control)
        if not same_not_found(obs, control):
            return RouteCheck(True, f"its {obs.status} ({_short(obs)}) differs from the router's own 404 for a "
                                    f"path that surely does not exist ({_short(control)})", control)
        opt = await prober.send("route-options", "OPTIONS", obs.url, headers)
        if opt is not None and opt.ok and control_opt is not None and control_opt.ok:
            allow = opt.header("allow")
            if opt.status != control_opt.status and opt.status not in (404, 410):
                return RouteCheck(True, f"OPTIONS answered {opt.status}" + (f" (Allow: {allow})" if allow else "")
                                  + f" where a path that surely does not exist answers {control_opt.status}",
                                  control)
            if allow and not control_opt.header("allow"):
                return RouteCheck(True, f"OPTIONS lists the route's methods (Allow: {allow}); a path that "
                                        f"surely does not exist has none", control)
        deeper = await self._deeper(control, prober, headers)
        if deeper is not None and deeper.ok and deeper.status in (404, 410) and not same_not_found(obs, deeper):
            # verdaccio: /{pkg}/{version} takes any two segments, so the two-segment control landed on a
            # handler ("no such package available"); four segments reach the router ("File not found")
            return RouteCheck(True, f"its {obs.status} ({_short(obs)}) is also what a catch-all route answers the "
                                    f"control path, but a deeper path that surely does not exist gets the router's "
                                    f"own ({_short(deeper)})", control)
        return RouteCheck(False, f"its {obs.status} is the router's own: a path that surely does not exist "
                                 f"answers the same ({_short(control)})", control)

    async def _deeper(self, control: Observation, prober: Prober, headers: dict[str, str]) -> Observation | None:
        """GET two random segments below the control path, once per control (its own cache entry)."""
        url = control.url.rstrip("/") + f"/{secrets.token_hex(3)}/{secrets.token_hex(3)}"
        key = (origin_of(url), "deeper:" + urlsplit(control.url).path)
        fut = self._controls.get(key)
        if fut is None:
            async def probe() -> tuple[Observation | None, Observation | None]:
                prober.budget += 1
                return await prober.send("route-control-deeper", "GET", url, headers), None
            fut = asyncio.ensure_future(probe())
            self._controls[key] = fut
        try:
            return (await asyncio.shield(fut))[0]
        except Exception:
            return None

    async def options_not_found(self, opt: Observation, prober: Prober, headers: dict[str, str]) -> RouteCheck:
        """``OPTIONS`` on an endpoint that is not written to answered 404/410: is it the router's
        own answer for a path that surely does not exist? ``exists`` False when it is (whether
        ``OPTIONS`` can be trusted on this host is for the caller to judge from sibling routes)."""
        _, control_opt = await self._control(opt.url, prober, headers)
        if control_opt is None or not control_opt.ok:
            return RouteCheck(None, "the router's own OPTIONS answer could not be observed", control_opt)
        if control_opt.status in (404, 410) and same_not_found(opt, control_opt):
            return RouteCheck(False, f"OPTIONS answered {opt.status} like a path that surely does not exist "
                                     f"({_short(control_opt)})", control_opt)
        return RouteCheck(True, f"OPTIONS answered {_short(opt)}, a path that surely does not exist "
                                f"{_short(control_opt)}", control_opt)


def _short(obs: Observation, n: int = 60) -> str:
    text = re.sub(r"\s+", " ", obs.text.strip())
    return f"{obs.status} {text[:n]}{'…' if len(text) > n else ''}" if text else f"{obs.status}, empty body"
