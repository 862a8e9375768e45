"""One function per signal, each pure over a :class:`~tasks.readiness.probe.ProbeRecord`.

Every function returns a (possibly empty) list of :class:`Evidence`.  Weights
are on a log-odds-like scale (see :mod:`tasks.readiness.verdict`):

=====================  =========  ======  =====================================================
signal                 points to  weight  when
=====================  =========  ======  =====================================================
mock-server-header     mock       1-5     a known mock tool's header (see signatures.py)
mock-server-body       mock       5       a known mock tool's body (error page, sampler UUID)
mock-server-host       mock       ≤3      a tool fingerprint on the host's other pages
dev-http-server        mock       1       served by Python's BaseHTTP
placeholder-content    mock       1-3.5   many fields hold example values ("string", 0, "test"...),
                                          weighed by their share; any Lorem ipsum text weighs 2-2.5
                                          on its own, whatever the share
uniform-items          mock       1-2     list items identical apart from their id, or all with the
                                          same midnight timestamp (+ the same free text)
ignores-path-id        mock       1.5-2.5 other and nonexistent ids give the same 2xx body
phantom-resource       mock       1       a nonexistent id answers 2xx with a full body
id-mismatch            mock       1       /items/2 answers a body whose id is 1 and never says 2
ignores-query          mock       1-2     limit=1 returns as many items as before / filter ignored
unstable-random-body   mock       2-2.8   identical requests get randomly different bodies (the
                                          resource's own id changing counts extra)
write-not-persisted    mock       0.5-3   the created/updated/deleted state is not there after (a
                                          404 is re-read once after 0.5 s; 202 Accepted is not judged)
write-same-id          mock       2       two POSTs return the same new id
write-not-reflected    mock       1.5     the read-back does not contain what was written
ignores-input          mock       0.8-2   a non-create POST with one identifier varied (sku SKU-00001
                                          → SKU-00002) gets the same informative answer (0.8 when only
                                          the echoed value differs)
input-not-reflected    mock       1-1.5   a non-create POST's answer names another identifier of the
                                          same shape as the one sent (sku SKU-00001 → "SKU-00042")
constant-latency       mock       0.5-2   fixed-sleep latency (>20 ms, CV < 3 %) over the identical
                                          reads, or the identical sends of a non-create POST
catch-all-route        mock       2       a random path answers 2xx JSON
ignores-auth           mock       0.7     same 200 body without the auth headers
content-type-mismatch  mock       0.8     JSON body served as text/html, text/plain or untyped
no-date-header         mock       0.7     no Date header (RFC 9110 wants one from real servers)
pretty-printed-json    mock       0.5     indented JSON (json-server, Mockoon…)
unknown-id-rejected    real       0.6-1   a nonexistent id answers 404/410/400/422
distinct-by-id         real       0.8     different ids give different bodies
limit-honoured         real       1       limit=1 really returns ≤1 item
write-persisted        real       1.5-2   created/updated/deleted state is visible after
write-conflict         real       1       the repeated POST was refused with 409
write-new-id           real       0.5     two POSTs got different ids
depends-on-input       real       0.5-0.8 the varied identifier got another answer (0.5: a 4xx)
auth-enforced          real       1       401/403 without the auth headers
not-found              missing    3       404/410 for every sample tried
method-not-allowed     missing    3       405
not-implemented        missing    2-3     501, or a 2xx stub answer ({"message": "Not implemented yet"})
server-error           error      3       5xx
client-error           error      2       another 4xx the campaign does not expect
unreachable            error      5       connection refused / DNS / timeout
request-failed         error      3       protocol error, invalid URL
=====================  =========  ======  =====================================================

Informational (weight 0): ``mock-tool-proxy`` (a mock tool relaying a real
backend — its headers are then ignored), ``collection-route-ok`` (ids 404 but
the collection answers: test data may be wrong), ``bad-sample`` (one sample id
404s, another works), ``unexpected-status``, ``missing-sample``,
``write-accepted-async`` (202), ``write-idempotent``, ``write-unverifiable``,
``writes-not-probed`` (``allow_writes=False``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import urlsplit

from .content import (
    NOT_JSON, canonical, cv, extract_list, find_id, flatten, id_shape, is_id_key, is_identifier_key,
    is_recent_time, is_round_time, is_volatile_key, last_key, leaves, lorem_score, normalize_for_compare,
    parse_datetime, placeholder_profile, same_identifier,
)
from .models import Evidence
from .probe import Observation, ProbeRecord, is_success
from .signatures import match_fingerprints

Signal = Callable[[ProbeRecord], list[Evidence]]


def _q(v: Any, n: int = 70) -> str:
    s = v if isinstance(v, str) else canonical(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _path(obs: Observation) -> str:
    m = re.match(r"^[a-z]+://[^/]+(.*)$", obs.url)
    return (m.group(1) if m else obs.url) or "/"


def _ms(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in values) + "] ms"


_VOLATILE_HEADERS = {"date", "content-length", "content-type", "etag", "last-modified", "vary", "location",
                     "transfer-encoding", "connection", "keep-alive", "set-cookie", "x-total-count",
                     "cache-control", "expires", "pragma", "age", "content-encoding", "x-request-id",
                     "access-control-expose-headers", "content-security-policy", "x-content-type-options"}


def same_server(a: Observation | None, b: Observation | None) -> bool:
    """Heuristic: were two responses produced by the same server software?
    (Same Server / X-Powered-By and mostly the same header names.)"""
    if a is None or b is None or not a.ok or not b.ok:
        return False
    for h in ("server", "x-powered-by"):
        va, vb = (a.header(h) or "").lower(), (b.header(h) or "").lower()
        if va != vb:
            return False
    na = {k.lower() for k, _ in a.headers} - _VOLATILE_HEADERS
    nb = {k.lower() for k, _ in b.headers} - _VOLATILE_HEADERS
    if not na and not nb:
        return True
    return len(na & nb) / max(1, len(na | nb)) >= 0.5


def _body_value(obs: Observation) -> Any:
    return obs.json if obs.is_json else obs.body


def _is_empty_body(obs: Observation) -> bool:
    if not obs.body.strip():
        return True
    j = obs.json
    if j is NOT_JSON:
        return False
    if j in (None, {}, [], "", 0, False):
        return True
    if isinstance(j, dict):
        lst = extract_list(j)
        if lst is not None and len(lst) == 0:
            return True
        return all(v in (None, "", [], {}) for v in j.values())
    return False


def _norm(obs: Observation, mask: set[str] | None = None) -> str:
    if obs.is_json:
        return canonical(normalize_for_compare(obs.json, mask=mask))
    text = obs.text
    for m in mask or set():
        if m:
            text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(m)}(?![0-9A-Za-z])", "<ID>", text)
    return text


def body_is_stable(rec: ProbeRecord) -> bool:
    """Do the identical base requests get the same body (volatile fields and
    recent timestamps aside)?  Comparisons between different ids mean
    nothing when the body changes on its own."""
    same = [o for o in rec.same_request() if o.is_2xx]
    if len(same) < 2:
        return True
    first = _norm(same[0])
    return all(_norm(o) == first for o in same[1:])


# ---------------------------------------------------------------------------
# Status-derived evidence
# ---------------------------------------------------------------------------

_NOT_IMPL_RE = re.compile(r"not\s+(yet\s+)?implemented|unimplemented|coming\s+soon|under\s+construction",
                          re.IGNORECASE)


_MESSAGE_KEYS = {"message", "msg", "detail", "details", "error", "status", "info", "reason", "description", "result"}


def _stub_message(obs: Observation, rx: re.Pattern) -> bool:
    """A short stub answer: a small JSON object whose message-like field says
    so (``{"message": "Not implemented yet"}``), or a short plain-text body.
    Product data that merely mentions "coming soon" does not count."""
    if len(obs.body) > 400:
        return False
    if obs.is_json:
        j = obs.json
        if isinstance(j, str):
            return bool(rx.search(j))
        if isinstance(j, dict) and len(leaves(j)) <= 4:
            return any(str(k).lower() in _MESSAGE_KEYS and isinstance(v, str) and rx.search(v)
                       for k, v in leaves(j))
        return False
    return len(obs.text.strip()) <= 120 and bool(rx.search(obs.text))


def status_evidence(rec: ProbeRecord) -> list[Evidence]:
    """missing / error / unreachable facts from the primary response."""
    ev: list[Evidence] = []
    p = rec.primary
    if p is None:
        return ev
    if p.error:
        if p.error_kind in ("connect", "timeout"):
            ev.append(Evidence("unreachable", "error", 5.0, f"{p.method} {p.url}: {p.error}"))
        else:
            ev.append(Evidence("request-failed", "error", 3.0, f"{p.method} {p.url}: {p.error}"))
        return ev
    if rec.info.get("kind") == "write" and not rec.info.get("writes_allowed"):
        return ev
    s = p.status
    if s in (404, 410):
        bases = rec.labeled("base") or [p]
        tried = [o.meta.get("values", {}) for o in bases]
        detail = f"{p.method} {_path(p)} answered {s}"
        if len(bases) > 1:
            detail += f" for every sample tried ({', '.join(_q(t, 40) for t in tried)})"
        ev.append(Evidence("not-found", "missing", 3.0, detail + f": {_q(p.text, 90)!s}"))
        coll = rec.first("collection")
        if coll is not None and coll.is_2xx and rec.info.get("kind") == "read":
            ev.append(Evidence("collection-route-ok", "real", 0.0,
                               f"GET {_path(coll)} works ({coll.status}) while the supplied ids 404: "
                               f"the route may exist and the test data be wrong"))
    elif s == 405:
        allow = p.header("allow")
        ev.append(Evidence("method-not-allowed", "missing", 3.0,
                           f"{p.method} {_path(p)} answered 405" + (f" (Allow: {allow})" if allow else "")))
    elif s == 501:
        ev.append(Evidence("not-implemented", "missing", 3.0, f"{p.method} {_path(p)} answered 501"))
    elif s is not None and s >= 500:
        ev.append(Evidence("server-error", "error", 3.0, f"{p.method} {_path(p)} answered {s}: {_q(p.text, 90)}"))
    elif s is not None and 400 <= s < 500 and not is_success(p, rec.target.expect_status):
        ev.append(Evidence("client-error", "error", 2.0, f"{p.method} {_path(p)} answered {s}: {_q(p.text, 90)}"))
    elif p.is_2xx and _stub_message(p, _NOT_IMPL_RE):
        ev.append(Evidence("not-implemented", "missing", 3.0,
                           f"{p.method} {_path(p)} answered {s} with {_q(p.text, 90)!r}"))
    elif p.is_2xx and _stub_message(p, re.compile(r"^\s*TODO\b")):
        ev.append(Evidence("not-implemented", "missing", 2.0,
                           f"{p.method} {_path(p)} answered {s} with {_q(p.text, 90)!r}"))
    expect = rec.target.expect_status
    if s is not None and expect and s not in expect:
        ev.append(Evidence("unexpected-status", "error", 0.0, f"got {s}, campaign expects {list(expect)}"))
    bases = rec.labeled("base")
    if p.is_2xx and len(bases) > 1:
        bad = [o for o in bases if o is not p and o.status in (404, 410)]
        if bad:
            ev.append(Evidence("bad-sample", "real", 0.0,
                               f"sample {bad[0].meta.get('values')} answered {bad[0].status} but "
                               f"{p.meta.get('values')} works: check the campaign's test data"))
    if rec.info.get("missing_samples"):
        ev.append(Evidence("missing-sample", "error", 0.0,
                           f"no sample values for {rec.info['missing_samples']}; '1' was used"))
    return ev


# ---------------------------------------------------------------------------
# Fingerprints
# ---------------------------------------------------------------------------

def mock_server_signatures(rec: ProbeRecord) -> list[Evidence]:
    """Known mock-tool headers/bodies on the endpoint's own responses (full
    weight) and on the host's other pages (capped, and only full-ish when the
    host pages come from the same server software as the endpoint)."""
    ev: list[Evidence] = []
    seen: set[str] = set()
    proxied: list = []
    for obs in rec.observations:
        if not obs.ok:
            continue
        for fp, quote in match_fingerprints(obs, suppressed=proxied):
            if fp.id in seen:
                continue
            seen.add(fp.id)
            if fp.id == "python-basehttp":
                ev.append(Evidence("dev-http-server", "mock", fp.weight, f"{quote} on {obs.label} response"))
                continue
            sig = "mock-server-body" if fp.where == "body" else "mock-server-header"
            ev.append(Evidence(sig, "mock", fp.weight,
                               f"{fp.tool}: {quote} ({obs.method} {_path(obs)} → {obs.status}) "
                               f"[{fp.id}; source: {fp.source}]"))
    if proxied:
        fp, quote = proxied[0]
        ev.append(Evidence("mock-tool-proxy", "real", 0.0,
                           f"{fp.tool} headers on top of the backend's own ({quote}): the tool is relaying a "
                           f"backend (validation/partial proxy), so the endpoint is judged on behaviour"))
    primary = rec.primary
    for obs in rec.host_observations:
        if not obs.ok:
            continue
        for fp, quote in match_fingerprints(obs):
            if fp.id in seen or fp.id == "python-basehttp":
                continue
            seen.add(fp.id)
            same = same_server(primary, obs)
            w = min(fp.weight, 3.0) if same else min(fp.weight, 1.0)
            ev.append(Evidence("mock-server-host", "mock", w,
                               f"{fp.tool}: {quote} on the host's {obs.label} probe (GET {_path(obs)} → "
                               f"{obs.status}){'' if same else '; served by different software than the endpoint'}"
                               f" [{fp.id}; source: {fp.source}]"))
    return ev


# ---------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------

def placeholder_content(rec: ProbeRecord) -> list[Evidence]:
    """Example/placeholder values, weighed by the share of fields holding them."""
    p = rec.primary
    if p is None or not p.is_2xx or not p.is_json:
        return []
    prof = placeholder_profile(p.json)
    ev: list[Evidence] = []
    if prof["prism_uuid"]:
        why = next(r for r in prof["reasons"] if "Prism derives" in r)
        ev.append(Evidence("mock-server-body", "mock", 5.0,
                           f"Prism static mock: {why} [prism-sampler-uuid; source: @stoplight/json-schema-sampler "
                           f"src/utils.js uuid()]"))
    n = prof["leaves"]
    if n == 0:
        return ev
    score = prof["score"]
    extra = []
    if prof["numbers"] >= 2 and prof["zero_numbers"] == prof["numbers"]:
        score += 0.5 * prof["numbers"]
        extra.append(f"all {prof['numbers']} numbers are 0")
    if prof["bools"] >= 2 and prof["true_bools"] == prof["bools"] and score > 0:
        score += 0.25 * prof["bools"]
        extra.append(f"all {prof['bools']} booleans are true")
    frac = score / n
    strong_hits = sum(1 for r in prof["reasons"] if "sampler" in r or "lorem ipsum" in r or "Prism" in r)
    w = 0.0
    if prof["hits"] >= 2 or (prof["hits"] >= 1 and extra):
        if frac >= 0.6:
            w = 3.5
        elif frac >= 0.4:
            w = 2.5
        elif frac >= 0.25:
            w = 1.5
        if strong_hits >= 3 and frac >= 0.3:
            w = max(w, 2.5)
    # Lorem ipsum is placeholder text by definition: real data (almost)
    # never holds it, so it weighs on its own, whatever share of the fields
    # it fills.  Not ≥ 3 though: a dev database seeded with faker sentences
    # is real, so it still needs a second, independent signal.
    sent = {v.strip() for _, v in leaves(rec.target.body) if isinstance(v, str)}
    lorem_w, lorem_why = lorem_weight(p.json, exclude=sent)
    if lorem_w > w:
        share = f"{score:.1f} of {n} fields look like example values ({frac:.0%})"
        ev.append(Evidence("placeholder-content", "mock", lorem_w,
                           f"{lorem_why}; {share}: " + "; ".join(prof["reasons"] + extra)))
    elif w > 0:
        ev.append(Evidence("placeholder-content", "mock", w,
                           f"{score:.1f} of {n} fields look like example values ({frac:.0%}): "
                           + "; ".join(prof["reasons"] + extra)))
    elif prof["strings"] >= 2 and prof["empty_strings"] == prof["strings"] and n >= 3:
        ev.append(Evidence("placeholder-content", "mock", 1.0,
                           f"every one of the {prof['strings']} string fields is empty"))
    return ev


def lorem_weight(obj: Any, exclude: set[str] = frozenset()) -> tuple[float, str]:
    """Weight of the Lorem ipsum text in a body, independent of field share:
    2.5 for text opening with the classic "Lorem ipsum" (typed by hand into a
    mock), 2.0 for sentences of lorem vocabulary (json-schema-faker,
    faker.lorem; at least four words: a two-word product name never counts),
    else 0 — an article that merely *mentions* "lorem ipsum" is not one.
    Text in *exclude* (what the request itself sent, echoed back) never counts."""
    phrase: list[tuple[str, str]] = []
    sentences: list[tuple[str, str]] = []
    for key, v in leaves(obj):
        if not isinstance(v, str) or v.strip() in exclude:
            continue
        if v.strip().lower().startswith("lorem ipsum"):
            phrase.append((key, v))
        elif len(re.findall(r"[A-Za-zÀ-ÿ]+", v)) >= 4 and lorem_score(v, phrase=False) >= 1.0:
            sentences.append((key, v))
    found = phrase or sentences
    if not found:
        return 0.0, ""
    w = 2.5 if phrase else 2.0
    key, v = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return w, f"lorem ipsum placeholder text in {key}={_q(v, 48)!r}{more}"


def uniform_items(rec: ProbeRecord) -> list[Evidence]:
    """List items stamped out of one template: identical apart from their id,
    and/or all carrying the very same hand-typed timestamp (a date at
    midnight, ``"2024-01-01T00:00:00Z"``) with the same free text.  Real
    lists can share a category or a batch timestamp, so this stays modest
    (≤ 2) and never decides alone."""
    p = rec.primary
    if p is None or not p.is_2xx or not p.is_json:
        return []
    items = extract_list(p.json)
    if not items or len(items) < 3 or not all(isinstance(it, dict) for it in items):
        return []
    items = items[:25]
    common = set(items[0]).intersection(*items[1:])
    non_id = [k for k in common if not is_id_key(str(k))]
    reasons: list[str] = []
    w = 0.0
    stripped = {canonical({k: v for k, v in it.items() if not is_id_key(str(k))}) for it in items}
    # Clones only count with some free text among the shared fields: rows of
    # identical seats ({"status": "available", "capacity": 4}) are real.
    texty = any(isinstance(items[0].get(k), str) and len(items[0][k].split()) >= 2
                and parse_datetime(items[0][k]) is None for k in non_id)
    clones = len(stripped) == 1 and len(non_id) >= 2 and texty
    if clones:
        w = 1.5
        reasons.append(f"all {len(items)} items are identical apart from their id")
    same_round_ts = [k for k in sorted(non_id)
                     if all(it.get(k) == items[0].get(k) for it in items) and is_round_time(items[0].get(k))]
    same_text = [k for k in sorted(non_id)
                 if isinstance(items[0].get(k), str) and len(items[0][k].split()) >= 2
                 and all(it.get(k) == items[0][k] for it in items)]
    if same_round_ts:
        k = same_round_ts[0]
        reasons.append(f"every item has {k}={items[0][k]!r}")
        if clones:
            w = 2.0
        elif same_text:
            w = 1.5
            reasons.append(f"and {same_text[0]}={_q(items[0][same_text[0]], 40)!r}")
        else:
            w = 1.0
    if w == 0:
        return []
    return [Evidence("uniform-items", "mock", w, f"{len(items)} list items look stamped from one template: "
                     + "; ".join(reasons))]


def ignores_path_id(rec: ProbeRecord) -> list[Evidence]:
    """Compare the base body with another supplied id and a nonexistent id."""
    if rec.info.get("kind") != "read" or not rec.info.get("varied"):
        return []
    base = rec.base
    if base is None or not base.is_2xx or _is_empty_body(base):
        return []
    varied, where = rec.info["varied"], rec.info.get("varied_in")
    base_val = str(rec.info.get("values", {}).get(varied, ""))
    ghost, alt = rec.first("ghost"), rec.first("alt")
    ev: list[Evidence] = []
    raw_base = _norm(base)
    masked_base = _norm(base, {base_val})
    sig = "ignores-path-id" if where == "path" else "ignores-query"
    if ghost is not None and ghost.ok:
        gval = ghost.meta.get("value", "")
        if ghost.is_2xx:
            identical = _norm(ghost) == raw_base
            echo = not identical and _norm(ghost, {gval}) == masked_base
            if identical:
                w = 2.0 if where == "path" else 1.0
                also = ""
                if alt is not None and alt.is_2xx and _norm(alt) == raw_base:
                    w += 0.5 if where == "path" else 0.0
                    also = f" and {varied}={alt.meta.get('value')}"
                ev.append(Evidence(sig, "mock", w,
                                   f"{varied}={gval} (nonexistent){also} answered {ghost.status} with the same body "
                                   f"as {varied}={base_val}: {_q(base.text)}"))
            elif echo:
                ev.append(Evidence(sig, "mock", 1.5 if where == "path" else 0.8,
                                   f"{varied}={gval} (nonexistent) answered {ghost.status} with the same body as "
                                   f"{varied}={base_val} except the echoed id: {_q(ghost.text)}"))
            elif not _is_empty_body(ghost) and where == "path":
                ev.append(Evidence("phantom-resource", "mock", 1.0,
                                   f"{varied}={gval} (nonexistent) answered {ghost.status} with a full body: "
                                   f"{_q(ghost.text)}"))
            elif where == "query" and _is_empty_body(ghost):
                ev.append(Evidence("unknown-id-rejected", "real", 0.8,
                                   f"{varied}={gval} (nonexistent) answered an empty result"))
        elif ghost.status in (404, 410):
            ev.append(Evidence("unknown-id-rejected", "real", 1.0,
                               f"{varied}={gval} (nonexistent) answered {ghost.status}"))
        elif ghost.status in (400, 422):
            ev.append(Evidence("unknown-id-rejected", "real", 0.6,
                               f"{varied}={gval} (nonexistent) answered {ghost.status}"))
    if alt is not None and alt.is_2xx and not _is_empty_body(alt) and body_is_stable(rec):
        aval = alt.meta.get("value", "")
        if _norm(alt) != raw_base and _norm(alt, {aval}) != masked_base:
            ev.append(Evidence("distinct-by-id", "real", 0.8,
                               f"{varied}={aval} and {varied}={base_val} answered different bodies"))
    return ev


def _mentions(obj: Any, value: str) -> bool:
    for _, v in leaves(obj):
        if v is None or isinstance(v, bool):
            continue
        sv = str(v)
        if sv == value or (len(value) >= 3 and value in sv):
            return True
        if isinstance(v, (int, float)):
            try:
                if float(value) == float(v):
                    return True
            except ValueError:
                pass
    return False


def _top_id(obj: Any, varied: str) -> Any:
    if not isinstance(obj, dict):
        return None
    for k in (varied, "id", "_id", "uuid"):
        v = obj.get(k)
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            return v
    return None


def id_mismatch(rec: ProbeRecord) -> list[Evidence]:
    """Asked for ``/items/11``, got an object whose own id is 1 and which
    mentions 11 nowhere: the body is canned.  (A real ``/users/{username}``
    answers an object whose ``id`` differs but whose ``username`` matches, so
    it is not flagged.)"""
    if rec.info.get("kind") != "read" or rec.info.get("varied_in") != "path":
        return []
    varied = rec.info["varied"]
    for label in ("alt", "ghost"):
        o = rec.first(label)
        if o is None or not o.is_2xx or not o.is_json:
            continue
        oid, req = _top_id(o.json, varied), str(o.meta.get("value", ""))
        if oid is not None and str(oid) != req and not _mentions(o.json, req):
            return [Evidence("id-mismatch", "mock", 1.0,
                             f"GET {_path(o)} answered an object with id={oid!r} that never mentions {req!r}")]
    return []


def unstable_body(rec: ProbeRecord) -> list[Evidence]:
    """Identical requests, randomly different bodies (faker / Prism -d).

    Allowed to change: fields named like time/ids-of-requests/counters
    (:func:`is_volatile_key`), timestamps near *now*, monotonic counters,
    small numeric drift, reordered lists.
    """
    same = [o for o in rec.same_request() if o.is_2xx and o.is_json]
    if len(same) < 3:
        return []
    now = datetime.now(timezone.utc)
    flats = [flatten(o.json, sort_lists=True) for o in same]
    all_paths = set().union(*flats)
    common = set(flats[0]).intersection(*flats[1:])
    score = 0.0
    changed: list[str] = []
    structural = [p for p in all_paths - common]
    if structural:
        score += min(3.0, 0.5 * len(structural))
        changed.append(f"{len(structural)} fields come and go")
    for path in sorted(common):
        vals = [f[path] for f in flats]
        if all(canonical(v) == canonical(vals[0]) for v in vals):
            continue
        key = last_key(path)
        if path.endswith("#len"):
            score += 1.0
            changed.append(f"{path[:-4]} length {vals}")
            continue
        if is_volatile_key(key) and not is_id_key(key):
            continue
        if all(is_recent_time(v, now) for v in vals):
            continue
        nums = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(nums) == len(vals):
            if all(b >= a for a, b in zip(nums, nums[1:])):
                continue  # monotonic counter
            mean = sum(abs(x) for x in nums) / len(nums)
            spread = max(nums) - min(nums)
            if mean > 0 and spread / mean < 0.2 and not is_id_key(key):
                score += 0.2
                continue
            s = 1.0
        elif all(isinstance(v, bool) for v in vals):
            s = 0.5
        elif all(isinstance(v, str) for v in vals):
            if all(parse_datetime(v) for v in vals):
                s = 1.0  # random dates far from now
            else:
                distinct = len({v for v in vals})
                s = 1.0 if distinct >= min(3, len(vals)) else 0.3
        else:
            s = 1.0
        if is_id_key(key):
            s = max(s, 1.0)
        score += s
        if len(changed) < 5:
            dv = list(dict.fromkeys(canonical(v) for v in vals))
            changed.append(f"{path[2:] or '$'}: {_q(dv[0], 30)} → {_q(dv[1], 30)}")
    if score < 2.0:
        return []
    w = 2.0 if score < 4 else 2.5 if score < 6 else 2.8
    # A single resource addressed by id whose *own* id changes between
    # identical requests is generated, not stored (a list of random picks is
    # not: recommendation endpoints exist).
    own_ids = [o.json.get(k) for o in same for k in ("id", "_id", "uuid")
               if isinstance(o.json, dict) and k in o.json]
    if rec.info.get("varied_in") == "path" and len(own_ids) == len(same) and len(set(map(str, own_ids))) > 1:
        w = min(2.8, w + 0.5)
        changed.insert(0, f"the resource's own id changes on every call ({', '.join(map(str, own_ids[:4]))})")
    return [Evidence("unstable-random-body", "mock", w,
                     f"{len(same)} identical requests got different bodies (randomness score {score:.1f}): "
                     + "; ".join(changed))]


def ignores_query(rec: ProbeRecord) -> list[Evidence]:
    """limit=1 vs the URL's own limit."""
    lim, base = rec.first("limit"), rec.base
    if lim is None or base is None or not lim.is_2xx or not lim.is_json or not base.is_json:
        return []
    lb, ll = extract_list(base.json), extract_list(lim.json)
    if lb is None or ll is None:
        return []
    name, v, bv = lim.meta["param"], lim.meta["value"], lim.meta["base_value"]
    if v == 1 and len(lb) > 1:
        if len(ll) == len(lb):
            return [Evidence("ignores-query", "mock", 2.0,
                             f"{name}=1 returned {len(ll)} items, the same as {name}={bv}")]
        if len(ll) <= 1 and body_is_stable(rec):
            return [Evidence("limit-honoured", "real", 1.0,
                             f"{name}=1 returned {len(ll)} item(s), {name}={bv} returned {len(lb)}")]
    if v == 3 and len(lb) <= 1 and len(ll) > 1 and body_is_stable(rec):
        return [Evidence("limit-honoured", "real", 1.0,
                         f"{name}=3 returned {len(ll)} items, {name}={bv} returned {len(lb)}")]
    return []


# ---------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------

def _scalars(obj: Any) -> list[str]:
    out = []
    for _, v in leaves(obj):
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, (int, float)):
            out.append(_num(v))
        elif isinstance(v, str) and len(v.strip()) >= 2:
            out.append(v.strip())
    return out


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def reflects(sent: Any, got: Any) -> float | None:
    """Share of the written scalar values found in the read-back body."""
    want = _scalars(sent)
    if len(want) < 2:
        return None
    have = set()
    for s in _scalars(got):
        have.add(s)
        try:
            have.add(_num(float(s)))
        except ValueError:
            pass
    return sum(1 for w in want if w in have) / len(want)


def write_persistence(rec: ProbeRecord) -> list[Evidence]:
    """Does a 2xx write leave a trace?"""
    if rec.info.get("kind") != "write" or not rec.info.get("writes_allowed"):
        return []
    t = rec.target
    method = t.method.upper()
    writes = rec.labeled("write")
    if not writes or not writes[0].is_2xx:
        return []
    w1 = writes[0]
    follow = rec.first("follow")
    retry = rec.first("follow-retry")
    if follow is not None and retry is not None and retry.ok:
        follow = retry  # the read after a short wait is the one that counts
    ev: list[Evidence] = []
    if w1.status == 202:
        return [Evidence("write-accepted-async", "real", 0.0,
                         f"{method} answered 202 Accepted: processed asynchronously, persistence not checked")]
    if method == "POST":
        if len(writes) > 1:
            w2 = writes[1]
            path = urlsplit(w1.url).path
            i1 = find_id(w1.json, path) if w1.is_json else None
            i2 = find_id(w2.json, path) if w2.is_2xx and w2.is_json else None
            if w2.status == 409:
                ev.append(Evidence("write-conflict", "real", 1.0,
                                   f"the repeated POST was refused with 409: {_q(w2.text)}"))
            elif i1 is not None and i2 is not None:
                idempotent = any(re.search(r"idempoten", k, re.IGNORECASE) for k in t.headers)
                if str(i1) == str(i2) and idempotent:
                    ev.append(Evidence("write-idempotent", "real", 0.0,
                                       f"two POSTs with the same Idempotency-Key answered id={i1!r}"))
                elif str(i1) == str(i2):
                    ev.append(Evidence("write-same-id", "mock", 2.0,
                                       f"two POSTs both answered id={i1!r}"))
                else:
                    ev.append(Evidence("write-new-id", "real", 0.5, f"two POSTs answered id={i1!r} and id={i2!r}"))
        if follow is None:
            if w1.header("location") is None and (
                    find_id(w1.json, urlsplit(w1.url).path) if w1.is_json else None) is None:
                ev.append(Evidence("write-unverifiable", "real", 0.0,
                                   "the POST response has neither a Location header nor an id to read back"))
            return ev
        via = follow.meta.get("via")
        if follow.is_2xx:
            r = reflects(t.body, follow.json if follow.is_json else None)
            if r is None or r >= 0.5:
                ev.append(Evidence("write-persisted", "real", 2.0 if r is not None else 1.5,
                                   f"GET {_path(follow)} after the POST answered {follow.status}"
                                   + (f" with {r:.0%} of the written values" if r is not None else "")))
            elif r == 0.0:
                ev.append(Evidence("write-not-reflected", "mock", 1.5,
                                   f"GET {_path(follow)} after the POST answered {follow.status} without any of the "
                                   f"written values: {_q(follow.text)}"))
        elif follow.status in (404, 410):
            known = rec.first("known")
            if via == "location":
                ev.append(Evidence("write-not-persisted", "mock", 3.0,
                                   f"POST answered {w1.status} with Location: {follow.meta.get('location')}, "
                                   f"but GET there answered {follow.status}"))
            elif known is not None and known.is_2xx:
                ev.append(Evidence("write-not-persisted", "mock", 2.5,
                                   f"POST answered {w1.status} with id={follow.meta.get('id')!r}, but GET "
                                   f"{_path(follow)} answered {follow.status} while GET {_path(known)} "
                                   f"answered {known.status}"))
            else:
                ev.append(Evidence("write-not-persisted", "mock", 0.5,
                                   f"POST answered id={follow.meta.get('id')!r}, GET {_path(follow)} answered "
                                   f"{follow.status} (could not confirm the item route exists)"))
        return ev
    if method in ("PUT", "PATCH"):
        if follow is not None and follow.is_2xx and follow.is_json:
            r = reflects(t.body, follow.json)
            if r is not None and r >= 0.5:
                ev.append(Evidence("write-persisted", "real", 1.5,
                                   f"GET {_path(follow)} after the {method} shows {r:.0%} of the written values"))
            elif r == 0.0:
                ev.append(Evidence("write-not-reflected", "mock", 1.5,
                                   f"GET {_path(follow)} after the {method} shows none of the written values: "
                                   f"{_q(follow.text)}"))
        gw = rec.first("ghost-write")
        if gw is not None and gw.ok:
            gval = gw.meta.get("value", "")
            base_val = str(rec.info.get("values", {}).get(rec.info.get("varied"), ""))
            if gw.status in (404, 410):
                ev.append(Evidence("unknown-id-rejected", "real", 1.0,
                                   f"{method} on nonexistent id {gval} answered {gw.status}"))
            elif gw.is_2xx and not _is_empty_body(gw) and _norm(gw, {gval}) == _norm(w1, {base_val}):
                ev.append(Evidence("ignores-path-id", "mock", 1.5 if method == "PATCH" else 0.8,
                                   f"{method} on nonexistent id {gval} answered {gw.status} with the same body"))
        return ev
    if method == "DELETE":
        pre = rec.first("pre")
        if follow is not None and pre is not None and pre.is_2xx:
            if follow.status in (404, 410):
                ev.append(Evidence("write-persisted", "real", 2.0,
                                   f"after DELETE, GET {_path(follow)} answered {follow.status}"))
            elif follow.is_2xx and _norm(follow) == _norm(pre):
                ev.append(Evidence("write-not-persisted", "mock", 2.0,
                                   f"after a {w1.status} DELETE, GET {_path(follow)} still answers {follow.status} "
                                   f"with the same body"))
    return ev


# ---------------------------------------------------------------------------
# POSTs that create nothing (RPC/query style)
# ---------------------------------------------------------------------------

_ERROR_KEYS = {"error", "errors", "detail", "message", "valid", "is_valid", "isvalid", "success", "ok", "fault",
               "problem", "violations", "reason"}
#: A non-create answer must carry at least this many informative fields before
#: "same answer for another input" means anything: ``{"valid": false}`` for
#: two invalid coupons, ``{"status": "subscribed"}`` for two emails are real.
INFORMATIVE_LEAVES = 5


def _informative(obj: Any) -> bool:
    """A body rich enough that two inputs sharing it is suspicious: enough
    non-volatile, non-empty fields, and not a verdict/error envelope."""
    if isinstance(obj, dict) and {str(k).lower() for k in obj} & _ERROR_KEYS:
        return False
    norm = normalize_for_compare(obj)
    vals = [v for _, v in leaves(norm) if v not in (None, "", "<NOW>") and not isinstance(v, bool)]
    return len(vals) >= INFORMATIVE_LEAVES


def _non_create_writes(rec: ProbeRecord) -> list[Observation]:
    if rec.info.get("kind") != "write" or not rec.info.get("writes_allowed") or not rec.info.get("non_create"):
        return []
    return [o for o in rec.labeled("write", "resend") if o.is_2xx and o.is_json]


def ignores_input(rec: ProbeRecord) -> list[Evidence]:
    """The POST analogue of ``ignores-path-id``: the same request with one
    identifier changed (``sku`` SKU-00001 → SKU-00002) gets the very same
    answer, volatile fields aside.  Only for POSTs that create nothing, only
    for informative answers, only when identical sends agree with each other."""
    same = _non_create_writes(rec)
    vary = rec.first("vary")
    if not same or vary is None or not vary.ok:
        return []
    w1 = same[0]
    field_, old, new = vary.meta.get("field"), vary.meta.get("from"), vary.meta.get("to")
    first = _norm(w1)
    if any(_norm(o) != first for o in same[1:]):
        return []  # the answer changes on its own: comparing inputs means nothing
    if not vary.is_2xx:
        if vary.status is not None and 400 <= vary.status < 500:
            return [Evidence("depends-on-input", "real", 0.5,
                             f"{field_}={new!r} instead of {old!r} answered {vary.status}: the input is checked")]
        return []
    if not vary.is_json:
        return []
    if _norm(vary) == first:
        if not _informative(w1.json):
            return []
        return [Evidence("ignores-input", "mock", 2.0,
                         f"{field_}={new!r} instead of {old!r} got the same answer: {_q(w1.text)}")]
    if _norm(vary, {str(new)}) == _norm(w1, {str(old)}):
        if not _informative(w1.json):
            return []
        return [Evidence("ignores-input", "mock", 0.8,
                         f"{field_}={new!r} instead of {old!r} got the same answer except the echoed value: "
                         f"{_q(vary.text)}")]
    if not _is_empty_body(vary) or not _is_empty_body(w1):
        return [Evidence("depends-on-input", "real", 0.8,
                         f"{field_}={new!r} instead of {old!r} got a different answer")]
    return []


def _scalar_fields(obj: Any) -> dict[str, Any]:
    """Top-level scalar fields of an answer, and those of a single-object
    wrapper (``data``/``result``/``item``...).  Never inside lists: a list of
    related items legitimately carries other skus."""
    out: dict[str, Any] = {}
    if not isinstance(obj, dict):
        return out
    for wrap in ("data", "result", "item", "resource", "object"):
        if isinstance(obj.get(wrap), dict):
            out.update({str(k): v for k, v in obj[wrap].items() if not isinstance(v, (dict, list))})
    out.update({str(k): v for k, v in obj.items() if not isinstance(v, (dict, list))})
    return out


def input_not_reflected(rec: ProbeRecord) -> list[Evidence]:
    """The answer names a *different* thing than the request asked about:
    ``{"sku": "SKU-00001"}`` in, ``{"sku": "SKU-00042", ...}`` out — a canned
    response.  Only identifier-like keys (sku, *_id, code, email, slug...),
    only when the value has the same id shape on both sides (same prefix,
    same number of digits: an error ``"code": "COUPON_NOT_FOUND"`` or a
    normalised ``"kt-100"`` → ``"KT-100"`` never count), only top-level fields."""
    same = _non_create_writes(rec)
    body = rec.target.body
    if not same or not isinstance(body, dict) or not isinstance(same[0].json, dict):
        return []
    w1 = same[0]
    if {str(k).lower() for k in w1.json} & {"error", "errors", "fault", "problem"}:
        return []
    got = _scalar_fields(w1.json)
    vary = rec.first("vary")
    vgot = _scalar_fields(vary.json) if vary is not None and vary.is_2xx and vary.is_json else {}
    misses: list[str] = []
    for key, sent in body.items():
        key = str(key)
        if not is_identifier_key(key) or key not in got:
            continue
        shape = id_shape(sent)
        if shape is None or id_shape(got[key]) != shape or same_identifier(sent, got[key]):
            continue
        if isinstance(got[key], str) and re.search(r"[*•…]|x{3,}|X{3,}", got[key]):
            continue  # masked on purpose ("a***@x.com")
        note = ""
        if vary is not None and vary.meta.get("field") == key and key in vgot and vgot[key] == got[key]:
            note = f", and {vary.meta.get('to')!r} got {got[key]!r} too"
        misses.append(f"sent {key}={sent!r}, the answer says {key}={got[key]!r}{note}")
    if not misses:
        return []
    return [Evidence("input-not-reflected", "mock", 1.0 if len(misses) == 1 else 1.5,
                     "the answer is about something else than the request: " + "; ".join(misses))]


# ---------------------------------------------------------------------------
# Timing and transport details
# ---------------------------------------------------------------------------

def constant_latency(rec: ProbeRecord) -> list[Evidence]:
    """A handler that sleeps a fixed time: mean > 20 ms, CV < 3 %, while the
    same server answers other requests much faster.  Samples: the identical
    reads (base + repeats), or the identical sends of a POST that creates
    nothing (see :meth:`ProbeRecord.timed_same`)."""
    same = [o for o in rec.timed_same() if o.ok]
    lat = [o.latency_ms for o in same[1:]]  # first one pays for the connection
    if len(lat) < 4:
        return []
    # Scheduler hiccups on a busy host must not hide a fixed sleep: drop the
    # sample farthest from the median (a third of them from 6 samples on),
    # judge the rest (still ≥ 3 samples).
    med = sorted(lat)[len(lat) // 2]
    n_drop = 1 if len(lat) < 6 else len(lat) // 3
    by_distance = sorted(range(len(lat)), key=lambda i: abs(lat[i] - med))
    dropped = sorted(lat[i] for i in by_distance[len(lat) - n_drop:])
    kept = [lat[i] for i in sorted(by_distance[: len(lat) - n_drop])]
    mean = sum(kept) / len(kept)
    c = cv(kept)
    if mean <= 20.0 or c >= 0.03:
        return []
    same_path = ("base", "repeat", "write", "resend", "vary")
    others = [o.latency_ms for o in rec.all() if o.ok and o.label not in same_path]
    fast = min(others) if others else None
    if fast is not None and fast < 0.5 * mean:
        w = 2.0 if c < 0.01 else 1.5
        ctx = f"; other requests to the same server took {fast:.1f} ms"
    else:
        w = 1.0 if c < 0.01 else 0.5
        ctx = "; the server's other responses are slow too" if fast is not None else ""
    return [Evidence("constant-latency", "mock", w,
                     f"{len(lat)} samples {_ms(lat)}: mean {mean:.1f} ms, CV {c:.2%} without the farthest "
                     f"({', '.join(f'{x:.1f}' for x in dropped)} ms){ctx}")]


def catch_all_route(rec: ProbeRecord) -> list[Evidence]:
    """A random path on the host answers 2xx JSON (HTML = SPA fallback, ignored)."""
    ctrl = next((o for o in rec.host_observations if o.label == "control"), None)
    if ctrl is None or not ctrl.is_2xx or not ctrl.is_json or _is_empty_body(ctrl):
        return []
    if not same_server(rec.primary, ctrl):
        return []
    return [Evidence("catch-all-route", "mock", 2.0,
                     f"GET {_path(ctrl)} (random path) answered {ctrl.status}: {_q(ctrl.text)}")]


def auth_ignored(rec: ProbeRecord) -> list[Evidence]:
    noauth, base = rec.first("noauth"), rec.base
    if noauth is None or base is None or not noauth.ok or not base.is_2xx:
        return []
    if noauth.status in (401, 403):
        return [Evidence("auth-enforced", "real", 1.0, f"without its auth headers the request answered {noauth.status}")]
    if noauth.is_2xx and _norm(noauth) == _norm(base) and not _is_empty_body(base):
        return [Evidence("ignores-auth", "mock", 0.7,
                         f"without its auth headers the request still answered {noauth.status} with the same body")]
    return []


def transport_details(rec: ProbeRecord) -> list[Evidence]:
    """Content-Type mismatch, missing Date header, pretty-printed JSON."""
    p = rec.primary
    if p is None or not p.is_2xx or not p.body:
        return []
    ev: list[Evidence] = []
    if p.is_json and isinstance(p.json, (dict, list)):
        ct = p.content_type
        if not ct or ct in ("text/html", "text/plain", "application/octet-stream"):
            ev.append(Evidence("content-type-mismatch", "mock", 0.8,
                               f"JSON body served as Content-Type: {p.header('content-type') or '(none)'}"))
        if re.match(rb"^\s*[\[{]\s*\n( {2,4}|\t)\S", p.body):
            ev.append(Evidence("pretty-printed-json", "mock", 0.5, "the JSON body is indented for humans"))
    if p.header("date") is None:
        ev.append(Evidence("no-date-header", "mock", 0.7, "the response has no Date header"))
    return ev


def writes_skipped(rec: ProbeRecord) -> list[Evidence]:
    if rec.info.get("kind") == "write" and not rec.info.get("writes_allowed"):
        o = rec.first("options")
        seen = f"OPTIONS answered {o.status}" if o is not None and o.ok else "nothing could be observed"
        return [Evidence("writes-not-probed", "real", 0.0,
                         f"allow_writes=False: {rec.target.method.upper()} was not sent; {seen}. "
                         f"Readiness of this endpoint is unverified")]
    return []


#: Every signal, in the order its evidence is reported.
SIGNALS: tuple[Signal, ...] = (
    status_evidence,
    mock_server_signatures,
    placeholder_content,
    uniform_items,
    ignores_path_id,
    id_mismatch,
    unstable_body,
    ignores_query,
    write_persistence,
    ignores_input,
    input_not_reflected,
    constant_latency,
    catch_all_route,
    auth_ignored,
    transport_details,
    writes_skipped,
)


def collect(rec: ProbeRecord) -> list[Evidence]:
    """Run every signal; a failing signal is reported, never raised."""
    out: list[Evidence] = []
    for sig in SIGNALS:
        try:
            out.extend(sig(rec))
        except Exception as exc:  # pragma: no cover - defensive
            out.append(Evidence("signal-failed", "error", 0.0, f"{sig.__name__}: {type(exc).__name__}: {exc}"))
    return out
