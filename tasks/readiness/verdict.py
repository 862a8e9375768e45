"""Combining evidence into a verdict and a confidence.

Status facts come first:

* connection refused / DNS / timeout → ``unreachable`` (0.95 / 0.8);
* 404/410 (every supplied sample), 405, 501, or a 2xx "not implemented"
  body → ``missing`` (0.9; 0.5 when the collection route answers, i.e. the
  test data may be wrong);
* 5xx → ``error`` (0.9); another unexpected 4xx → ``error`` (0.7) unless a
  mock tool is identified (then ``mock``, e.g. Prism's 422 validation errors).

For an endpoint that answers, evidence is summed like log-odds:

    M = Σ weight of evidence pointing to "mock"
    R = Σ weight of evidence pointing to "real"
    S = Σ weight of mock-tool fingerprints (mock-server-header/-body/-host)
    L = M − R

* **Identified tool**: ``S ≥ 4`` → ``mock``; confidence ``σ(S + max(L − S, 0)/2 − 2)``.
  Behavioural realism (persisted writes, 404 on unknown ids) cannot cancel
  an identification: json-server *is* a mock even though it persists.
* **Behavioural mock**: ``L ≥ 3`` **and** (at least two distinct mock signals
  **or** one behavioural signal of weight ≥ 3) → ``mock``; confidence
  ``σ(L − 1.5)``.  Only two behavioural signals can reach 3 on their own:
  placeholder-content when ≥ 60 % of the fields hold sampler values, and a
  201 whose ``Location`` still 404s half a second later.  Every other signal
  is < 3, so a single weak signal never makes "mock", and a partial tool
  fingerprint (S < 4) needs corroboration.  Lorem ipsum text (2–2.5) stays
  below 3 on purpose: a dev database seeded with faker sentences is real.
  So does ``ignores-input`` (2): a cold-start default or a flat rate is the
  same answer for two customers; with ``input-not-reflected`` (1) — the
  answer names another sku than the one asked about — it reaches 3.
* Otherwise → ``real`` with confidence ``σ(0.5 − L)``, clamped to
  [0.05, 0.99]: ≈0.62 with no evidence at all, ≥0.95 with solid real
  evidence, low when suspicious-but-not-enough evidence remains.

With ``allow_writes=False`` a write endpoint is never called ``mock``: it is
``real`` with confidence ≤ 0.3 (0.1 if anything looked suspicious), and the
evidence says that nothing was written.

σ is the logistic function.
"""

from __future__ import annotations

import math

from .models import Evidence, Verdict
from .probe import ProbeRecord, is_success

SIGNATURE_SIGNALS = frozenset({"mock-server-header", "mock-server-body", "mock-server-host"})
IDENTIFY_AT = 4.0
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


def decide(rec: ProbeRecord, evidence: list[Evidence]) -> tuple[Verdict, float]:
    """The verdict and its confidence for one probed endpoint."""
    sc = scores(evidence)
    p = rec.primary
    signals = {e.signal for e in evidence}

    if rec.info.get("kind") == "write" and not rec.info.get("writes_allowed"):
        if p is not None and p.error and p.error_kind in ("connect", "timeout"):
            return "unreachable", 0.9 if p.error_kind == "connect" else 0.75
        return "real", 0.1 if sc["M"] > 0 else 0.3

    if p is None:
        return "error", 0.0
    if p.error:
        if p.error_kind == "connect":
            return "unreachable", 0.95
        if p.error_kind == "timeout":
            return "unreachable", 0.8
        return "error", 0.7

    identified = sc["S"] >= IDENTIFY_AT
    if "not-found" in signals or "method-not-allowed" in signals or "not-implemented" in signals:
        conf = 0.5 if "collection-route-ok" in signals else 0.9
        if identified:
            conf = max(conf, 0.95)
        return "missing", conf
    if "server-error" in signals:
        return "error", 0.9
    if not is_success(p, rec.target.expect_status):
        if identified:
            return "mock", _clamp(sigmoid(sc["S"] - 2.0))
        return "error", 0.7

    if identified:
        return "mock", _clamp(sigmoid(sc["S"] + max(sc["L"] - sc["S"], 0.0) / 2.0 - 2.0))
    if sc["L"] >= MOCK_AT and (sc["n_mock"] >= 2 or sc["max_mock"] >= MOCK_AT):
        return "mock", _clamp(sigmoid(sc["L"] - 1.5))
    return "real", _clamp(sigmoid(0.5 - sc["L"]))
