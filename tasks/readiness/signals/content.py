"""What the body says: example/placeholder values, Lorem ipsum, list items stamped from one template."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from datetime import datetime, timezone

from ..content import (
    JS_DATE_RE, NOT_JSON, canonical, extract_list, is_id_key, is_round_time, leaves, lorem_score, parse_datetime,
    placeholder_identities, placeholder_profile,
)
from ..models import Evidence
from ..probe import ProbeRecord
from . import register
from .base import _path, _q

@register
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
    # Two or more *different* well-known placeholder people/texts (John Doe and Jane Doe, Foo Bar,
    # lorem ipsum) are a hand-written fixture whatever share of the fields they fill; still < 3:
    # a dev database can be seeded with them, so a second, independent signal must agree.
    asked = {str(v).strip() for vs in (rec.target.params or {}).values() for v in (vs or [])}
    asked |= {unquote_plus(part) for part in re.split(r"[/?&=]", p.url) if part}
    idents = placeholder_identities(p.json, exclude=sent | asked)
    ident_w = 0.0 if len(idents) < 2 else (2.5 if len(idents) == 2 else 2.8)
    share = f"{score:.1f} of {n} fields look like example values ({frac:.0%})"
    if ident_w > max(w, lorem_w):
        ev.append(Evidence("placeholder-content", "mock", ident_w,
                           f"{len(idents)} different well-known placeholder people/texts in one answer "
                           f"({', '.join(repr(i) for i in idents[:4])}); {share}"))
    elif lorem_w > w:
        ev.append(Evidence("placeholder-content", "mock", lorem_w,
                           f"{lorem_why}; {share}: " + "; ".join(prof["reasons"] + extra)))
    elif w > 0:
        ev.append(Evidence("placeholder-content", "mock", w, f"{share}: " + "; ".join(prof["reasons"] + extra)))
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


@register
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


#: keys naming when something happened (a row's own event time, not a calendar date)
_EVENT_TIME_KEY = re.compile(r"(_at|At|_on|_time|Time|timestamp|Timestamp)$")


@register
def fixture_timestamps(rec: ProbeRecord) -> list[Evidence]:
    """Event times typed by hand: every ``*_at`` timestamp of the answer written with a clock time
    of exactly midnight on the first day of a month, long ago (``"2020-01-01T00:00:00Z"``). Rows
    stamped by ``now()`` carry seconds; a seeded database too, most of the time. A hint (0.5), a
    second voice for placeholder text, never enough alone; a template-stamped list is
    ``uniform-items``' business."""
    p = rec.primary
    if p is None or not p.is_2xx or not p.is_json or uniform_items(rec):
        return []
    sent = {v for _, v in leaves(rec.target.body) if isinstance(v, str)}
    now = datetime.now(timezone.utc)
    stamps = [(k, v) for k, v in leaves(p.json) if isinstance(v, str) and _EVENT_TIME_KEY.search(str(k).split(".")[-1])]
    if not stamps or any(v in sent for _, v in stamps):
        return []
    for _, v in stamps:
        dt = parse_datetime(v)
        if dt is None or ":" not in v or not is_round_time(v) or dt.day != 1:
            return []
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        if (now - dt).days < 30:
            return []
    k, v = stamps[0]
    return [Evidence("fixture-timestamp", "mock", 0.5,
                     f"{k}={v!r}: every event time of the answer is midnight on the 1st of a month, long ago "
                     f"(typed by hand)" + (f" ({len(stamps)} of them)" if len(stamps) > 1 else ""))]


#: keys that say when an answer was computed: it is "now" for anything computed on request
GENERATED_KEY = re.compile(r"^(generated|computed|calculated|evaluated|quoted|fetched|retrieved|rendered|served|"
                           r"as[_-]?of|server[_-]?time|current[_-]?time|now)([_-]?(at|on|time|date|timestamp))?$",
                           re.IGNORECASE)
_JSON_TYPE = re.compile(r"^application/([a-z0-9.+-]*\+)?json$")


def _json_stream(body: bytes) -> bool:
    """Several JSON values one after the other (JSON lines, a grpc-gateway stream such as etcd's
    snapshot): what streaming servers send under a JSON content type, not a broken template."""
    import json

    text = body.decode("utf-8", "replace").strip()
    dec, i, n = json.JSONDecoder(), 0, 0
    while i < len(text):
        try:
            _, end = dec.raw_decode(text, i)
        except ValueError:
            return False
        n += 1
        i = end
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
    return n >= 2


@register
def odd_values(rec: ProbeRecord) -> list[Evidence]:
    """What real serialisers do not write: a JSON content type over a body that is not JSON (a
    template that broke), JavaScript ``Date.toString()`` values (``"Mon Jan 15 2024 10:00:00
    GMT+0000 (…)"``: real APIs write ISO 8601), and an answer computed on request that says it
    was generated days ago (a fixture)."""
    p = rec.primary
    if p is None or not p.is_2xx or not p.body.strip():
        return []
    ev: list[Evidence] = []
    if _JSON_TYPE.match(p.content_type) and p.json is NOT_JSON and not p.truncated and not _json_stream(p.body):
        ev.append(Evidence("invalid-json", "mock", 2.0,
                           f"served as {p.content_type} but not valid JSON: {_q(p.text, 60)!r}"))
    if p.json is NOT_JSON:
        return ev
    sent = {v for _, v in leaves(rec.target.body) if isinstance(v, str)}
    js = [(k, v) for k, v in leaves(p.json) if isinstance(v, str) and v not in sent and JS_DATE_RE.match(v.strip())]
    if js:
        k, v = js[0]
        ev.append(Evidence("js-date-string", "mock", 1.5,
                           f"{k}={v[:40]!r} is JavaScript's Date.toString(), not a serialised date"
                           + (f" (and {len(js) - 1} more)" if len(js) > 1 else "")))
    now = datetime.now(timezone.utc)
    obj = p.json if isinstance(p.json, dict) else {}
    for k, v in obj.items():
        if isinstance(v, str) and GENERATED_KEY.match(str(k)) and v not in sent:
            dt = parse_datetime(v)
            if dt is not None and abs((now - dt).total_seconds()) > 7 * 86400:
                ev.append(Evidence("stale-generated-at", "mock", 1.5,
                                   f"an answer computed on request says {k}={v!r}"))
                break
    return ev


def _sent_keys(rec: ProbeRecord) -> set[str]:
    """The names the request itself filled in: body field names, path placeholders, query names."""
    from urllib.parse import parse_qsl, urlsplit

    from ..identifiers import slots

    keys = {str(k).split(".")[-1].split("[")[0] for k, _ in leaves(rec.target.body)} if rec.target.body else set()
    keys |= {sl.name for sl in slots(rec.target.url)}
    keys |= {k for k, _ in parse_qsl(urlsplit(rec.target.url).query)}
    return {k for k in keys if re.fullmatch(r"[A-Za-z_][\w-]{1,40}", k)}


@register
def template_tokens(rec: ProbeRecord) -> list[Evidence]:
    """A response template's token left as it is: a value that is exactly ``@alertname``,
    ``{{id}}``, ``{{body 'name'}}``, ``${id}`` or ``:id`` for a name this very request filled in
    (its body field, path placeholder or query parameter). A real handler writes the value; a mock
    tool whose substitution found nothing leaves the token. Only names the request sent, so a real
    API that stores templates (alert texts, e-mail bodies) is not concerned."""
    p = rec.primary
    if p is None or not p.is_2xx or not p.is_json:
        return []
    keys = _sent_keys(rec)
    if not keys:
        return []
    sent = {str(v) for _, v in leaves(rec.target.body)} if rec.target.body else set()
    for path, v in leaves(p.json):
        if not isinstance(v, str) or v in sent:
            continue
        s = v.strip()
        for k in keys:
            if s in (f"@{k}", f"${{{k}}}", f":{k}") or re.fullmatch(
                    rf"\{{\{{\{{?\s*[\w.'\"\[\] ]*?\b{re.escape(k)}\b[\w.'\"\[\] ]*\}}\}}\}}?", s):
                return [Evidence("template-token", "mock", 2.0,
                                 f"{path}={v!r}: a template's token for {k!r}, which this request sent, left as it "
                                 f"is ({p.method} {_path(p)} → {p.status})")]
    return []


def _paths(obj: Any, path: str = "$", out: list[tuple[str, Any]] | None = None) -> list[tuple[str, Any]]:
    """``(JSON path, scalar)`` for every leaf, list items as ``[]`` (``$.lines[].hours``)."""
    out = [] if out is None else out
    if len(out) > 400:
        return out
    if isinstance(obj, dict):
        for k, v in obj.items():
            _paths(v, f"{path}.{k}", out)
    elif isinstance(obj, list):
        for v in obj[:25]:
            _paths(v, f"{path}[]", out)
    else:
        out.append((path, obj))
    return out


def _telling(value: Any) -> bool:
    """An example value a real answer would not share by chance: not a flag, not 0/1, not a short word."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return value not in (0, 1)
    return isinstance(value, str) and len(value.strip()) >= 3


@register
def documented_example_answer(rec: ProbeRecord) -> list[Evidence]:
    """The answer repeats the example values the spec documents for this response (``swapId:
    "swp_81f2"``, ``month: "2026-11"``, ``total_hours: 1284.5``): what a spec-driven mock returns
    (openapi-backend, connexion, Mockoon or Microcks generated from the spec). Real data shares an
    example by chance in a field or two, not in most of them. Enum members, flags, 0/1 and short
    words are not counted; an id equal to the documented one on a write's answer is (a new object
    given the spec's example id is canned)."""
    examples = rec.target.examples
    p = rec.primary
    if not examples or p is None or not p.is_2xx or not p.is_json:
        return []
    leaves_ = [(path, v) for path, v in _paths(p.json) if path in examples]
    if not leaves_:
        return []
    telling = [(path, v) for path, v in leaves_ if _telling(examples[path])]
    same = [(path, v) for path, v in telling if v == examples[path]]
    documented = {path for path, _ in telling}
    matched = {path for path, _ in same}
    write = rec.info.get("kind") == "write"
    id_match = write and any(is_id_key(path.rsplit(".", 1)[-1].rstrip("[]")) for path in matched)
    quote = "; ".join(f"{path[2:]}={v!r}" for path, v in same[:4])
    if len(matched) >= 3 and len(matched) >= 0.8 * len(documented):
        return [Evidence("documented-example", "mock", 3.0 if len(matched) >= 4 else 2.5,
                         f"{len(matched)} of the {len(documented)} fields the spec gives examples for answer "
                         f"exactly those examples: {quote}")]
    if id_match:
        return [Evidence("documented-example", "mock", 2.0,
                         f"the new object got the id the spec uses as its example: {quote}")]
    return []
