"""Combining evidence into a verdict, a confidence and a one-line reason.

Status facts come first:

* connection refused / DNS / timeout → ``unreachable`` (0.95 / 0.8); a URL the allow-list
  refused → ``error``;
* an endpoint that was not written to (write probes off here, the campaign's never-write list, a
  destructive operation, a setting whose value could not be read back to restore it) →
  ``unverified`` with that reason, never ``mock`` nor ``real``: a tool answering ``OPTIONS``
  itself may relay the write to a real backend (proxy mode). ``missing`` (0.7) when ``OPTIONS``
  got the router's own 404 where sibling routes answer ``OPTIONS`` 2xx from the same server and
  no other method answered on that path (:func:`~tasks.readiness.crosscheck.options_missing`).
  ``mock`` (0.75) when the host routes the write's path to the mock tool: its ``OPTIONS`` was
  answered by the same software as ``OPTIONS`` on reads judged mock, and by other software than
  on the reads served by something else (:func:`~tasks.readiness.crosscheck.options_like_mocks`;
  never where one piece of software answers ``OPTIONS`` on every path);
* 404/410: the :mod:`~tasks.readiness.routing` oracle decides. The router's own 404 (the same
  answer as a path that surely does not exist) → ``missing`` (0.9; 0.5 when the collection
  answers). A handler's 404 ("Flow not found"), or nothing to compare with → ``unverified``: the
  route is there, no id that exists could be found (the reason says which were tried). A mock
  tool's "no stub matched" page → ``missing``;
* 405, 501, or a 2xx "not implemented" body → ``missing`` (0.9);
* 5xx → ``error`` (0.9);
* a 2xx whose body was still open at the deadline (a watch, an event feed) → ``unverified``: the
  endpoint is alive, never ``unreachable``;
* 401/403 the campaign does not expect → ``unverified`` (credentials missing); another 4xx →
  ``unverified`` (the request the campaign describes was refused) — unless a mock tool is
  identified (then ``mock``, e.g. Prism's 422 validation errors).

For an endpoint that answers, evidence is summed like log-odds:

    M = Σ weight of evidence pointing to "mock"
    R = Σ weight of evidence pointing to "real"
    S = Σ weight of mock-tool fingerprints (mock-server-header/-body/-host, mock-tool-admin)
    L = M − R

* **Identified tool**: ``S ≥ 4`` → ``mock``; confidence ``σ(S + max(L − S, 0)/2 − 2)``.
  Behavioural realism (persisted writes, 404 on unknown ids) cannot cancel an identification:
  json-server *is* a mock even though it persists.
* **Behavioural mock**: ``L ≥ 3`` **and** (at least two distinct mock signals **or** one
  behavioural signal of weight ≥ 3) → ``mock``; confidence ``σ(L − 1.5)``. Only
  placeholder-content (≥ 60 % sampler values) and unstable-random-body (three or more business
  counts jumping up and down at random, nothing else changing) reach 3 on their own; every other
  signal is < 3,
  so a single weak signal never makes "mock", and a partial tool fingerprint (S < 4) needs
  corroboration. Lorem ipsum text (2–2.5) stays below 3 on purpose: a dev database seeded with
  faker sentences is real. A ``Location`` that cannot be followed is weak (0.3–1): the route it
  names may simply not be exposed; a list that grew or a balance that moved outweighs it.
* A write that is not sent, on a base URL where ``host-of-mocks`` holds (a mock generator serves
  the whole spec) → ``mock`` (0.7).
* A sent write whose path the host routes to the mock tool (``options_like_mocks``, see
  :func:`~tasks.readiness.crosscheck.options_like_mocks`) with R < 2 → ``mock`` (0.7).
* Otherwise → ``real`` with confidence ``σ(0.5 − L)``, clamped to [0.05, 0.99]: ≈0.62 with no
  evidence at all, ≥0.95 with solid real evidence, low when suspicious evidence remains.

σ is the logistic function.
"""

from __future__ import annotations

import math

from .models import Evidence, Verdict
from .probe import ProbeRecord, is_success

SIGNATURE_SIGNALS = frozenset({"mock-server-header", "mock-server-body", "mock-server-host", "mock-tool-admin"})
IDENTIFY_AT = 4.0
#: a write the host routes to the mock tool stays real only with real evidence this strong (a write
#: read back through an id-aware route, an effect listed): a real service with canned reads
ROUTED_REAL_R = 2.0
MOCK_AT = 3.0


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _clamp(x: float, lo: float = 0.05, hi: float = 0.99) -> float:
    return max(lo, min(hi, x))


def scores(evidence: list[Evidence]) -> dict[str, float]:
    m = sum(e.weight for e in evidence if e.points_to == "mock")
    r = sum(e.weight for e in evidence if e.points_to == "real")
    s = sum(e.weight for e in evidence if e.points_to == "mock" and e.signal in SIGNATURE_SIGNALS)
    mock_signals = {e.signal for e in evidence if e.points_to == "mock" and e.weight > 0}
    max_w = max([e.weight for e in evidence if e.points_to == "mock" and e.signal not in SIGNATURE_SIGNALS]
                + [0.0])
    return {"M": m, "R": r, "S": s, "L": m - r, "n_mock": float(len(mock_signals)), "max_mock": max_w}


def _top(evidence: list[Evidence], points_to: str, signals: set[str] | None = None) -> str:
    pick = [e for e in evidence if e.points_to == points_to and (signals is None or e.signal in signals)]
    pick.sort(key=lambda e: -e.weight)
    return pick[0].detail if pick else ""


def _mock(sc: dict[str, float], evidence: list[Evidence], identified: bool) -> tuple[Verdict, float, str]:
    if identified:
        return "mock", _clamp(sigmoid(sc["S"] + max(sc["L"] - sc["S"], 0.0) / 2.0 - 2.0)), \
            _top(evidence, "mock", set(SIGNATURE_SIGNALS)) or _top(evidence, "mock")
    return "mock", _clamp(sigmoid(sc["L"] - 1.5)), _top(evidence, "mock")


def _strict_identification(rec: ProbeRecord) -> str:
    """A tool fingerprint on the endpoint's own answers that a proxied answer never carries."""
    from .signatures import match_fingerprints

    total, quote = 0.0, ""
    for obs in rec.observations:
        if not obs.ok or obs.label not in ("options", "base", "write"):
            continue
        for fp, q in match_fingerprints(obs):
            if not fp.proxy_sensitive and fp.weight >= 4.0:
                total = max(total, fp.weight)
                quote = quote or f"{fp.tool}: {q} ({obs.method} → {obs.status})"
    return quote if total >= IDENTIFY_AT else ""


def decide(rec: ProbeRecord, evidence: list[Evidence]) -> tuple[Verdict, float, str]:
    """The verdict, its confidence and a one-line reason for one probed endpoint."""
    sc = scores(evidence)
    p = rec.primary
    signals = {e.signal for e in evidence}
    identified = sc["S"] >= IDENTIFY_AT
    behavioural = sc["L"] >= MOCK_AT and (sc["n_mock"] >= 2 or sc["max_mock"] >= MOCK_AT)

    if rec.info.get("not_probed"):
        if p is not None and p.error and p.error_kind in ("connect", "timeout"):
            return "unreachable", 0.9 if p.error_kind == "connect" else 0.75, p.error or ""
        # "mock" without a write only when the endpoint's own answer names the tool in a way no
        # relayed answer carries (Prism's error body, WireMock's stub id): a tool that answers
        # OPTIONS with its CORS set may still relay the write to a real backend (proxy mode)
        strict = _strict_identification(rec)
        if strict:
            return "mock", _clamp(sigmoid(sc["S"] - 2.0)), strict
        if rec.info.get("options_missing") and not identified:
            return "missing", 0.7, f"not written ({rec.info['not_probed']}); {rec.info['options_missing']}"
        if rec.info.get("options_like_mocks") and not rec.info.get("options_missing"):
            return "mock", 0.75, f"not written ({rec.info['not_probed']}), but {rec.info['options_like_mocks']}"
        host = next((e for e in evidence if e.signal == "host-of-mocks"), None)
        if host is not None:  # a mock generator answers this whole base URL
            return "mock", 0.7, f"not written ({rec.info['not_probed']}), but {host.detail}"
        hint = _top(evidence, "mock", set(SIGNATURE_SIGNALS)) if identified else ""
        return "unverified", 0.5, str(rec.info["not_probed"]) + (f"; the host looks like a mock tool: {hint}"
                                                                  if hint else "")

    if rec.info.get("withheld"):
        bad = rec.first("malformed")
        if bad is not None and bad.error and bad.error_kind in ("connect", "timeout"):
            return "unreachable", 0.9 if bad.error_kind == "connect" else 0.75, bad.error or ""
        route = rec.info.get("route")
        if bad is not None and bad.ok and bad.status in (404, 410) and route is not None and route.exists is False:
            return "missing", 0.8, f"POST with a body it must refuse answered {bad.status}: {route.detail}"
        if bad is not None and bad.ok and bad.status in (405, 501) and not identified:
            return "missing", 0.8, f"POST answered {bad.status}"
        if identified or behavioural:
            return _mock(sc, evidence, identified)
        if rec.info.get("options_like_mocks"):
            return "mock", 0.7, f"not written ({rec.info['withheld']}), but {rec.info['options_like_mocks']}"
        seen = f"; a body that is not JSON answered {bad.status}" if bad is not None and bad.ok else ""
        return "unverified", 0.5, str(rec.info["withheld"]) + seen

    if rec.info.get("no_own_object"):
        ghost = rec.first("ghost-write")
        if ghost is not None and ghost.ok and ghost.status in (404, 410):
            route = rec.info.get("route")
            if route is not None and route.exists is False and not identified:
                return "missing", 0.8, f"{ghost.method} on an unknown id: {route.detail}"
        if identified or behavioural:
            return _mock(sc, evidence, identified)
        seen = f"; a nonexistent id answered {ghost.status}" if ghost is not None and ghost.ok else ""
        return "unverified", 0.5, ("nothing this run created could be deleted, and the campaign's own samples are "
                                   "never deleted" + seen)

    if p is None:
        return "error", 0.0, "no request could be sent (request budget spent)"
    if p.error:
        if p.error_kind == "connect":
            return "unreachable", 0.95, p.error
        if p.error_kind == "timeout":
            return "unreachable", 0.8, p.error
        return "error", 0.7, p.error

    s = p.status
    if p.meta.get("stream") and p.is_2xx:
        return "unverified", 0.5, (f"{p.method} answered {s} and streams: {p.meta['stream']} (a watch or an event "
                                   f"feed is alive, but one request cannot tell real from mock; load it with a "
                                   f"streaming scenario)")
    if "not-found" in signals or "entity-not-found" in signals:
        if identified:
            return "missing", 0.95, _top(evidence, "missing") or f"answered {s}"
        if "not-found" in signals:
            conf = 0.5 if "collection-route-ok" in signals else 0.9
            return "missing", conf, _top(evidence, "missing", {"not-found"})
        return "unverified", 0.5, _top(evidence, "real", {"entity-not-found"})
    if "not-implemented" in signals and not identified and "method-not-allowed" not in signals:
        bad = rec.first("malformed")
        if bad is not None and bad.ok and 400 <= (bad.status or 0) < 500 and bad.status not in (404, 405, 410):
            return "unverified", 0.5, (f"{p.method} answered {s} to the campaign's body but {bad.status} to one that "
                                       f"is not JSON: the route's handler refused this body (fix the campaign's "
                                       f"example)")
    if "method-not-allowed" in signals or "not-implemented" in signals:
        return "missing", 0.95 if identified else 0.9, _top(evidence, "missing")
    if "server-error" in signals:
        if identified:  # the mock tool itself failed (a template error): still a mock
            return _mock(sc, evidence, True)
        return "error", 0.9, _top(evidence, "error", {"server-error"})
    if not is_success(p, rec.target.expect_status):
        if identified:
            return "mock", _clamp(sigmoid(sc["S"] - 2.0)), _top(evidence, "mock", set(SIGNATURE_SIGNALS))
        if s in (401, 403):
            return "unverified", 0.5, (f"{p.method} answered {s}: it needs credentials the campaign does not "
                                       f"send (add them, or expect {s})")
        return "unverified", 0.5, _top(evidence, "error", {"client-error"}) or f"answered {s}"

    if identified or behavioural:
        return _mock(sc, evidence, identified)
    if rec.info.get("options_like_mocks") and sc["R"] < ROUTED_REAL_R:
        return "mock", 0.7, str(rec.info["options_like_mocks"])
    return "real", _clamp(sigmoid(0.5 - sc["L"])), _top(evidence, "real")
