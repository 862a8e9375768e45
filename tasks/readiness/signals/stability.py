"""Identical requests, randomly different bodies (faker, Prism's dynamic mode, template helpers)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ..content import canonical, flatten, is_id_key, is_recent_time, is_volatile_key, last_key, parse_datetime
from ..models import Evidence
from ..probe import ProbeRecord
from . import register
from .base import _q, echoes_request

#: ids that are new on every request by design (request_id, trace_id…): never a sign of randomness
_PER_REQUEST = re.compile(r"request|trace|correlation|span|session|nonce|event", re.IGNORECASE)
#: volatile-looking names that still hold business counts (a count does not swing up and down by
#: half its value between two requests a few milliseconds apart; a duration or a latency may)
_COUNT_KEY = re.compile(r"count|total|hits|views", re.IGNORECASE)
#: how many business counts must swing at once before the answer is called generated
SWINGING_COUNTS = 3


def _big_step(a: int, b: int) -> bool:
    return abs(b - a) >= 3 and abs(b - a) >= 0.2 * max(abs(a), abs(b))


def swings(values: list) -> bool:
    """An integer series that jumps up *and* down by large amounts (≥ 3 and ≥ 20 % of the larger
    value) between identical requests: what ``randint`` gives, not a live count (it moves by a few,
    mostly one way) nor a gauge of in-flight work (it stays small)."""
    if len(values) < 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return False
    steps = list(zip(values, values[1:]))
    if any(b > a and _big_step(a, b) for a, b in steps) and any(b < a and _big_step(a, b) for a, b in steps):
        return True
    # or large jumps at least twice, and some way back (a draw's small steps are not all one way)
    return sum(_big_step(a, b) for a, b in steps) >= 2 and any(b > a for a, b in steps) and any(
        b < a for a, b in steps)


def leaps(values: list) -> bool:
    """An integer series that moves one way by large amounts at least twice (a random draw that
    happened to come out sorted), unlike a live counter's small steps."""
    if len(values) < 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return False
    return sum(_big_step(a, b) for a, b in zip(values, values[1:])) >= 2


@register
def unstable_body(rec: ProbeRecord) -> list[Evidence]:
    """Identical requests, randomly different bodies (faker / Prism -d).

    Allowed to change: fields named like time/ids-of-requests/counters
    (:func:`is_volatile_key`), timestamps near *now*, monotonic counters,
    small numeric drift, reordered lists.

    Bodies that come back in a fixed rotation are :func:`cycling_body`'s, not counted twice: one
    observation, one piece of evidence (a real endpoint picking among five products at random
    can look like a short rotation by chance, and must not get both).
    """
    same = [o for o in rec.same_request() if o.is_2xx and o.is_json]
    if len(same) < 3 or cycling_body(rec):
        return []
    now = datetime.now(timezone.utc)
    flats = [flatten(o.json, sort_lists=True) for o in same]
    all_paths = set().union(*flats)
    common = set(flats[0]).intersection(*flats[1:])
    score = 0.0
    changed: list[str] = []
    swinging: list[str] = []   # business counts jumping up and down at random
    leaping: list[str] = []    # ...or by large amounts one way (a random draw that came out sorted)
    other_change = False       # anything else changed (a string, an id, a float, the shape)
    structural = [p for p in all_paths - common]
    if structural:
        other_change = True
        score += min(3.0, 0.5 * len(structural))
        changed.append(f"{len(structural)} fields come and go")
    echo = echoes_request(same[0])
    for path in sorted(common):
        vals = [f[path] for f in flats]
        if all(canonical(v) == canonical(vals[0]) for v in vals):
            continue
        key = last_key(path)
        if echo and (re.search(r"(?i)(^|\.)(headers|cookies)(\.|$)", path) or key.lower() in ("cookie", "cookies")):
            continue  # an echo of the request: the client's own cookies/headers, set by other probes
        if path.endswith("#len"):
            other_change = True
            score += 1.0
            changed.append(f"{path[:-4]} length {vals}")
            continue
        if is_volatile_key(key) and (not is_id_key(key) or _PER_REQUEST.search(key)):
            if _COUNT_KEY.search(key) and not is_id_key(key) and swings(vals):
                swinging.append(f"{path[2:]}: {' → '.join(map(str, vals))}")
            continue
        if all(is_recent_time(v, now) for v in vals):
            continue
        if len(vals) >= 4 and sum(canonical(a) != canonical(b) for a, b in zip(vals, vals[1:])) == 1:
            # one step from one value to another (67 67 0 0 0 0): a state that changed once — a
            # cache warming up, a count computed in the background (Datasette's table_rows_sum) —
            # not a value drawn at random on every request
            continue
        nums = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(nums) == len(vals):
            if all(b >= a for a, b in zip(nums, nums[1:])) or all(b <= a for a, b in zip(nums, nums[1:])):
                if not is_id_key(key) and leaps(vals):
                    leaping.append(f"{path[2:]}: {' → '.join(map(str, vals))}")
                if all(b >= a for a, b in zip(nums, nums[1:])):
                    continue  # monotonic counter
            mean = sum(abs(x) for x in nums) / len(nums)
            spread = max(nums) - min(nums)
            if mean > 0 and spread / mean < 0.2 and not is_id_key(key):
                score += 0.2
                continue
            s = 1.0
            if not is_id_key(key) and swings(vals):
                swinging.append(f"{path[2:]}: {' → '.join(map(str, vals))}")
            elif is_id_key(key) or not leaps(vals):
                other_change = True
        elif all(isinstance(v, bool) for v in vals):
            other_change = True
            s = 0.5
        elif all(isinstance(v, str) for v in vals):
            other_change = True
            if all(parse_datetime(v) for v in vals):
                s = 1.0  # random dates far from now
            else:
                distinct = len({v for v in vals})
                s = 1.0 if distinct >= min(3, len(vals)) else 0.3
        else:
            other_change = True
            s = 1.0
        if is_id_key(key):
            other_change = True
            s = max(s, 1.0)
        score += s
        if len(changed) < 5:
            dv = list(dict.fromkeys(canonical(v) for v in vals))
            changed.append(f"{path[2:] or '$'}: {_q(dv[0], 30)} → {_q(dv[1], 30)}")
    if (len(swinging) >= SWINGING_COUNTS or len(swinging) == SWINGING_COUNTS - 1 and leaping) and not other_change:
        swinging += leaping[:1]
        # Several business counts of one aggregate (readers, loans today, overdue…) jumping up and
        # down by large amounts between requests milliseconds apart, nothing else changing: a
        # random generator behind a dashboard. A record picked at random changes its id and its
        # text with its numbers, so it never qualifies; a real gauge moves a little, or one way.
        return [Evidence("unstable-random-body", "mock", 3.0,
                         f"{len(same)} identical requests: {len(swinging)} counts jump up and down at random "
                         f"({'; '.join(swinging[:4])})")]
    if score < 1.0:
        return []
    # one field that comes and goes at random is a hint (a live gauge can wander); several are a
    # generator at work
    w = 1.0 if score < 2.0 else 2.0 if score < 4 else 2.5 if score < 6 else 2.8
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


@register
def cycling_body(rec: ProbeRecord) -> list[Evidence]:
    """Identical requests whose answers come back in a fixed rotation (A, B, C, A, B…): a mock
    tool's list of responses played in turn (mountebank ``responses``, WireMock scenarios, Mockoon's
    sequential mode). Live data drifts; it does not replay the same few bodies in order."""
    same = [o for o in rec.same_request() if o.is_2xx and o.body.strip()]
    if len(same) < 4:
        return []
    seq = [canonical(o.json) if o.is_json else o.text for o in same]
    distinct = list(dict.fromkeys(seq))
    k = len(distinct)
    if k < 2 or len(seq) < k + 2 or any(seq[i] == seq[i + 1] for i in range(len(seq) - 1)):
        return []
    if any(seq[i] != seq[i + k] for i in range(len(seq) - k)) or len(set(seq[:k])) != k:
        return []
    # two bodies in turn may be two replicas behind a balancer: a hint; three or more, a playlist
    return [Evidence("cycling-body", "mock", 2.0 if k >= 3 else 1.0,
                     f"{len(seq)} identical requests got {k} bodies in a fixed rotation: "
                     + " → ".join(_q(b, 40) for b in seq[: k + 1]))]
