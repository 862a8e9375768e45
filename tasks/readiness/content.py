"""Pure helpers over response bodies: JSON flattening, volatile-field
detection, placeholder/example-value recognition, list extraction.

Nothing here does I/O; every function is deterministic over its inputs
(except where ``now`` is passed in), so the signals built on top are easy to
unit-test.

Placeholder vocabulary and where it comes from
-----------------------------------------------
* ``@stoplight/json-schema-sampler`` (the sampler behind Prism's static mode),
  ``src/samplers/string.js``/``number.js``/``boolean.js`` (read from the npm
  package, v0.3): ``"string"``, ``"user@example.com"``, ``"pa$$word"``,
  ``"2019-08-24T14:15:22Z"``, ``"2019-08-24"``, ``"14:15:22Z"``,
  ``"192.168.0.1"``, ``"2001:0db8:85a3:0000:0000:8a2e:0370:7334"``,
  ``"example.com"``, ``"http://example.com"``, ``"../dictionary"``,
  ``"/json/pointer"``, ``"/regex/"``; numbers sample to ``0`` (or the
  schema minimum); booleans to ``true``; ``format: uuid`` samples to a UUID
  derived *deterministically* from the property name (``utils.js``,
  ``uuid()`` = jsf32 PRNG seeded by a Java-style string hash) — ported below
  as :func:`prism_sample_uuid`, so ``{"id": "497f6eca-6276-4993-bfeb-53cbbbba6f08"}``
  is recognised as Prism output.  Verified live against prism-cli 5.x.
* Swagger UI / Swashbuckle "Try it out" sample UUID
  ``3fa85f64-5717-4562-b3fc-2c963f66afa6`` (seen across many public
  repositories' docs and examples).
* json-schema-faker / Prism dynamic mode and many hand-made mocks fill
  strings with Lorem ipsum words (observed live: ``"nostrud anim dolore
  deserunt non"``).
* Generic hand-made-mock vocabulary (foo/bar, John Doe, test, sample, dummy,
  mock, TODO...).  These are *weak* on purpose: real data can contain them.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import datetime, timezone
from typing import Any
from tasks import safejson

NOT_JSON: Any = type("NotJson", (), {"__repr__": lambda self: "NOT_JSON", "__bool__": lambda self: False})()

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ISO_DT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
# JavaScript Date.prototype.toString(), e.g. "Sat Nov 21 2026 01:25:26 GMT+0000 (Coordinated Universal Time)"
JS_DATE_RE = re.compile(r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT([+-]\d{4})")
_MONTHS = {m: i for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; return :data:`NOT_JSON` when it is not JSON."""
    if not body:
        return NOT_JSON
    try:
        return safejson.loads(body)
    except ValueError:
        return NOT_JSON


# --------------------------------------------------------------------------
# Flattening and normalisation
# --------------------------------------------------------------------------

def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def flatten(obj: Any, prefix: str = "$", *, max_items: int = 25, sort_lists: bool = False,
            out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flatten JSON into ``{path: scalar}``.  Lists keep only ``max_items``
    items; with ``sort_lists`` items are ordered canonically first so a mere
    re-ordering does not look like a change."""
    if out is None:
        out = {}
    if isinstance(obj, dict):
        if not obj:
            out[prefix] = {}
        for k, v in obj.items():
            flatten(v, f"{prefix}.{k}", max_items=max_items, sort_lists=sort_lists, out=out)
    elif isinstance(obj, list):
        items = obj[:max_items] if not sort_lists else sorted(obj, key=_canon)[:max_items]
        out[f"{prefix}#len"] = len(obj)
        for i, v in enumerate(items):
            flatten(v, f"{prefix}[{i}]", max_items=max_items, sort_lists=sort_lists, out=out)
    else:
        out[prefix] = obj
    return out


def leaves(obj: Any, *, max_leaves: int = 400) -> list[tuple[str, Any]]:
    """``(key, value)`` for every scalar leaf (key = nearest dict key)."""
    result: list[tuple[str, Any]] = []

    def walk(o: Any, key: str) -> None:
        if len(result) >= max_leaves:
            return
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, str(k))
        elif isinstance(o, list):
            for v in o[:25]:
                walk(v, key)
        else:
            result.append((key, o))

    walk(obj, "")
    return result


def last_key(path: str) -> str:
    """Last dict key of a flattened path: ``$.a[0].createdAt`` -> ``createdAt``."""
    tail = path.rsplit(".", 1)[-1]
    return re.sub(r"(\[\d+\]|#len)+$", "", tail)


VOLATILE_KEY_RE = re.compile(
    r"(time|date|_at$|At$|stamp|now|updated|modified|created|expires?|expiry|ttl|age|"
    r"uptime|elapsed|duration|latency|took|request_?id|requestid|trace|span|correlation|nonce|"
    r"token|csrf|session|etag|version|revision|seq|sequence|counter|count|hits|views|"
    r"served|generated|checksum|signature|random|salt|server_?time|clock|epoch|cursor)",
    re.IGNORECASE,
)


def is_volatile_key(key: str) -> bool:
    """Field names whose value legitimately changes between identical requests."""
    return bool(key) and bool(VOLATILE_KEY_RE.search(key))


def is_id_key(key: str) -> bool:
    k = key.strip()
    return k.lower() in {"id", "_id", "uuid", "guid", "key", "slug", "pk"} or bool(
        re.search(r"(_id|Id|ID|_uuid|Uuid)$", k))


def parse_datetime(value: Any) -> datetime | None:
    """Best-effort parse of an ISO-8601 or JS ``Date.toString()`` value."""
    if not isinstance(value, str) or len(value) < 8:
        return None
    s = value.strip()
    m = ISO_DT_RE.match(s)
    if m:
        try:
            iso = s.replace("Z", "+00:00").replace(" ", "T", 1)
            dt = datetime.fromisoformat(iso) if len(s) > 10 else datetime.fromisoformat(s[:10])
        except ValueError:
            try:
                dt = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt
    m = JS_DATE_RE.match(s)
    if m:
        try:
            dt = datetime(int(m.group(3)), _MONTHS[m.group(1)], int(m.group(2)), int(m.group(4)),
                          int(m.group(5)), int(m.group(6)), tzinfo=timezone.utc)
        except (KeyError, ValueError):
            return None
        return dt
    return None


def is_recent_time(value: Any, now: datetime, *, window_s: float = 2 * 86400) -> bool:
    """True for a timestamp close to *now* (ISO string or epoch s/ms)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        ts = float(value)
        for scale in (1.0, 1e3, 1e6, 1e9):
            if abs(ts / scale - now.timestamp()) < window_s:
                return True
        return False
    dt = parse_datetime(value)
    return dt is not None and abs((dt - now).total_seconds()) < window_s


def normalize_for_compare(obj: Any, *, mask: set[str] | None = None, drop_volatile: bool = True,
                          now: datetime | None = None) -> Any:
    """Copy of *obj* with volatile fields dropped, recent timestamps blanked and
    every scalar equal to one of ``mask`` (as string) replaced by ``"<ID>"``.
    Lists are ordered canonically."""
    mask = {str(m) for m in (mask or set())}
    now = now or datetime.now(timezone.utc)

    def walk(o: Any, key: str) -> Any:
        if isinstance(o, dict):
            out = {}
            for k, v in o.items():
                if drop_volatile and is_volatile_key(str(k)) and not isinstance(v, (dict, list)):
                    continue
                out[k] = walk(v, str(k))
            return out
        if isinstance(o, list):
            return sorted((walk(v, key) for v in o), key=_canon)
        if o is not None and not isinstance(o, bool) and str(o) in mask:
            return "<ID>"
        if isinstance(o, str) and mask:
            for m in mask:
                if m and m in o:
                    o = re.sub(rf"(?<![0-9A-Za-z]){re.escape(m)}(?![0-9A-Za-z])", "<ID>", o)
        if drop_volatile and isinstance(o, str) and is_recent_time(o, now):
            return "<NOW>"
        return o

    return walk(obj, "")


def canonical(obj: Any) -> str:
    return _canon(obj)


# --------------------------------------------------------------------------
# Lists
# --------------------------------------------------------------------------

LIST_KEYS = ("items", "data", "results", "content", "records", "rows", "entries", "hits", "list",
             "values", "objects", "elements", "docs", "nodes", "edges")


def extract_list(obj: Any) -> list | None:
    """The main list of a response: the body itself, a well-known wrapper key,
    or the only list-valued key of an object."""
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict):
        for k in LIST_KEYS:
            v = obj.get(k)
            if isinstance(v, list):
                return v
            if isinstance(v, dict):
                inner = extract_list(v)
                if inner is not None:
                    return inner
        lists = [v for v in obj.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    return None


def item_ids(items: list) -> list[Any]:
    out = []
    for it in items:
        if isinstance(it, dict):
            for k in ("id", "_id", "uuid", "key"):
                if k in it and isinstance(it[k], (str, int)) and not isinstance(it[k], bool):
                    out.append(it[k])
                    break
    return out


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _flat_word(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def names_collection(key: str, path: str) -> bool:
    """Does a ``*_id`` key name the resource of the URL path's last literal
    segment?  ``order_id`` for ``/api/orders``, ``registration_id`` for
    ``/api/course-registrations`` — but not ``user_id`` for ``/auth/sign-in``
    (there it refers to an existing user, not to something just created)."""
    stem = _flat_word(re.sub(r"(_id|Id|ID|_uuid|Uuid|UUID)$", "", key.strip()))
    segs = [sg for sg in path.split("?")[0].split("/") if sg and "{" not in sg]
    if not stem or not segs:
        return False
    last = _singular(_flat_word(segs[-1]))
    if len(stem) < 3 or len(last) < 3:
        return stem == last
    return last == stem or last.endswith(stem) or stem.endswith(last)


def find_id(obj: Any, path: str | None = None) -> Any:
    """The identifier of a created resource in a write response, if any.

    ``id``/``_id``/``uuid``/``guid``/``key`` (also inside a ``data``/``item``/...
    wrapper) always count.  A lone ``*_id`` field counts too — but when the
    request *path* is given, only if it names the collection posted to
    (:func:`names_collection`): ``{"token": ..., "user_id": 7}`` from
    ``POST /auth/sign-in`` refers to an existing user, it creates nothing."""
    if isinstance(obj, dict):
        for k in ("id", "_id", "uuid", "guid", "key"):
            v = obj.get(k)
            if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v) != "":
                return v
        for k in ("data", "item", "result", "resource", "object"):
            if isinstance(obj.get(k), dict):
                v = find_id(obj[k], path)
                if v is not None:
                    return v
        ids = [(k, v) for k, v in obj.items() if is_id_key(str(k)) and isinstance(v, (str, int))
               and not isinstance(v, bool)]
        if len(ids) == 1 and (path is None or names_collection(str(ids[0][0]), path)):
            return ids[0][1]
    return None


# --------------------------------------------------------------------------
# Request identifiers (RPC-style POSTs)
# --------------------------------------------------------------------------

#: Body keys that name *which* thing a request is about, besides ``*_id``.
IDENTIFIER_KEYS = {"id", "sku", "code", "email", "slug", "username", "login", "handle", "symbol", "ticker",
                   "isbn", "ean", "upc", "gtin", "barcode", "account", "reference", "ref", "name"}
_SECRET_KEY_RE = re.compile(r"pass|secret|token|otp|pin$|cvv|cvc|card|captcha|nonce|signature", re.IGNORECASE)
_PREFIXED_NUM_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*?[-_.:/#]?)(\d+)$")
EMAIL_RE = re.compile(r"^([^@\s]+)@([^@\s]+\.[^@\s]+)$")


def is_identifier_key(key: str) -> bool:
    """``sku``, ``email``, ``customer_id``... but never a secret (password, token)."""
    k = key.strip()
    if not k or _SECRET_KEY_RE.search(k):
        return False
    low = k.lower()
    return is_id_key(k) or low in IDENTIFIER_KEYS or low.endswith(("_sku", "_code", "_email", "_slug")) or bool(
        re.search(r"(Sku|Code|Email|Slug)$", k))


def id_shape(value: Any) -> str | None:
    """The *shape* of an identifier value, or None when it does not look like
    one: ``"int"`` (int or digit string), ``"uuid"``, ``"email"``, or the
    value with its digits masked (``"SKU-#####"``; prefix compared without
    case).  Free text (``"Kettle"``) has no id shape."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return "int"
    if not isinstance(value, str):
        return None
    s = value.strip()
    if not s or len(s) > 80:
        return None
    if s.isdigit():
        return "int"
    if UUID_RE.match(s):
        return "uuid"
    if EMAIL_RE.match(s):
        return "email"
    m = _PREFIXED_NUM_RE.match(s)
    if m:
        return m.group(1).upper() + "#" * len(m.group(2))
    return None


def same_identifier(a: Any, b: Any) -> bool:
    """Equal as identifiers: ``"1"`` and ``1``, ``"Ada@X.com"`` and
    ``"ada@x.com"``, ``"kt-100"`` and ``"KT100"``."""
    if str(a).strip().isdigit() and str(b).strip().isdigit():
        return int(str(a).strip()) == int(str(b).strip())
    return _flat_word(str(a)) == _flat_word(str(b)) and _flat_word(str(a)) != ""


def _next_identifier(value: Any) -> Any:
    """Another value of the same shape: the next number (``SKU-00001`` →
    ``SKU-00002``, ``41`` → ``42``), the email's local part changed, a new
    UUID; None when there is no sensible neighbour."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value + 1 if value >= 0 else None
    s = value.strip()
    if s.isdigit():
        return str(int(s) + 1).zfill(len(s))
    if UUID_RE.match(s):
        g = str(uuid.uuid4())
        return g.upper() if s.isupper() else g
    m = EMAIL_RE.match(s)
    if m:
        local, domain = m.groups()
        d = re.search(r"(\d+)$", local)
        local = local[: d.start()] + str(int(d.group(1)) + 1).zfill(len(d.group(1))) if d else local + "2"
        return f"{local}@{domain}"
    m = _PREFIXED_NUM_RE.match(s)
    if m:
        return m.group(1) + str(int(m.group(2)) + 1).zfill(len(m.group(2)))
    return None


def vary_identifier(body: Any) -> tuple[tuple[str, ...], Any, Any] | None:
    """Pick one identifier-like scalar of a JSON request body and a neighbour
    value for it: ``(path of keys, old, new)``.  Identifier-named keys
    (``sku``, ``customer_id``, ``email``...) come first, then any id-shaped
    string (``"SKU-00001"``, an email).  Numbers under other keys (``qty``,
    ``amount``) and secrets are never touched.  Lists are not entered."""
    found: list[tuple[int, int, tuple[str, ...], Any, Any]] = []

    def walk(o: Any, path: tuple[str, ...]) -> None:
        if not isinstance(o, dict) or len(path) > 3:
            return
        for k, v in o.items():
            key = str(k)
            if isinstance(v, dict):
                walk(v, path + (key,))
                continue
            if _SECRET_KEY_RE.search(key) or not isinstance(v, (str, int)) or isinstance(v, bool):
                continue
            shape = id_shape(v)
            if shape is None:
                continue
            if is_identifier_key(key):
                rank = 0
            elif isinstance(v, str) and shape != "int":
                rank = 1
            else:
                continue
            new = _next_identifier(v)
            if new is not None and new != v:
                found.append((rank, len(found), path + (key,), v, new))

    walk(body, ())
    if not found:
        return None
    _, _, path, old, new = min(found, key=lambda f: (f[0], len(f[2]), f[1]))
    return path, old, new


def with_value(body: Any, path: tuple[str, ...], value: Any) -> Any:
    """A deep copy of *body* with the scalar at *path* replaced."""
    out = json.loads(json.dumps(body))
    o = out
    for k in path[:-1]:
        o = o[k]
    o[path[-1]] = value
    return out


def is_round_time(value: Any) -> bool:
    """A hand-typed-looking timestamp: a date, or a date at exactly midnight
    (``"2024-01-01T00:00:00Z"``)."""
    if not isinstance(value, str):
        return False
    dt = parse_datetime(value)
    if dt is None:
        return False
    return dt.hour == 0 and dt.minute == 0 and dt.second == 0 and dt.microsecond == 0


# --------------------------------------------------------------------------
# Placeholder / example values
# --------------------------------------------------------------------------

def _to_int32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - 0x100000000 if x & 0x80000000 else x


def _js_hash(s: str) -> int:
    h = 0
    for ch in s:
        h = _to_int32(_to_int32(h << 5) - h + ord(ch))
    return h


def prism_sample_uuid(name: str) -> str:
    """Port of ``uuid()`` from @stoplight/json-schema-sampler ``src/utils.js``:
    the UUID Prism's static mode puts in a ``format: uuid`` property *name*."""
    seed = _js_hash(name)
    a = b = c = d = seed

    def rnd() -> float:
        nonlocal a, b, c, d
        rot = _to_int32(_to_int32(b << 27) | ((b & 0xFFFFFFFF) >> 5))
        t = _to_int32(a - rot)
        a = b ^ _to_int32(_to_int32(c << 17) | ((c & 0xFFFFFFFF) >> 15))
        b = _to_int32(c + d)
        c = _to_int32(d + t)
        d = _to_int32(a + t)
        return (d & 0xFFFFFFFF) / 4294967296

    out = []
    for ch in "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx":
        if ch in "xy":
            r = int((rnd() * 16) % 16)
            out.append(format(r if ch == "x" else (r & 0x3 | 0x8), "x"))
        else:
            out.append(ch)
    return "".join(out)


# Exact values emitted by spec-driven samplers (strong per leaf).
SAMPLER_VALUES = {
    "string", "user@example.com", "pa$$word", "2019-08-24t14:15:22z", "2019-08-24t14:15:22.123z",
    "2019-08-24", "14:15:22z", "192.168.0.1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    "http://example.com", "https://example.com", "https://example.com/", "http://example.com/{endpoint}",
    "../dictionary", "/json/pointer", "1/relative/json/pointer", "/regex/",
    "3fa85f64-5717-4562-b3fc-2c963f66afa6", "00000000-0000-0000-0000-000000000000",
    "пользователь@пример.ру", "пример.ру", "http://пример.ру",
}
# Typical hand-made placeholder values (medium per leaf).
PLACEHOLDER_VALUES = {
    "foo", "bar", "baz", "qux", "foobar", "foo bar", "lorem", "lorem ipsum", "ipsum", "dolor", "test", "testing",
    "sample", "dummy", "mock", "mocked", "fake", "todo", "tbd", "tba", "placeholder", "example",
    "xxx", "xyz", "abc", "abc123", "asdf", "qwerty", "changeme", "n/a", "null", "undefined", "none",
    "john doe", "jane doe", "john smith", "jane smith", "test@test.com", "test@example.com",
    "john.doe@example.com", "jane.doe@example.com", "john@example.com", "example@example.com",
    "email@example.com", "foo@bar.com", "foo@example.com", "user@user.com", "admin@admin.com",
    "123 main st", "123 main street", "555-555-5555", "+1-555-555-5555", "(555) 555-5555",
    "some text", "some string", "description", "my string", "hello", "hello world", "value", "name",
    "string string", "sample text", "dummy text", "test string", "mock data", "product name",
    "sample product", "test product", "dummy product", "mock product", "item name", "title",
    "my title", "sample title", "test title",
}
# The best-known placeholder people and texts, typed by hand into canned answers. One of them
# alone can be a real test account ("John Doe" seeded in a dev database); two *different* ones
# in one answer (John Doe and Jane Doe, Foo Bar, lorem ipsum) are a hand-written fixture.
PLACEHOLDER_IDENTITIES = {
    "john doe", "jane doe", "john smith", "jane smith", "foo bar", "foobar", "foo", "bar", "baz", "qux",
    "lorem ipsum", "jdoe", "john.doe", "jane.doe", "test@test.com", "test@example.com", "john.doe@example.com",
    "jane.doe@example.com", "john@example.com", "jane@example.com", "jdoe@example.com", "foo@bar.com",
    "foo@example.com", "123 main st", "123 main street", "555-555-5555", "+1-555-555-5555", "(555) 555-5555",
}


def placeholder_identities(obj: Any, exclude: set[str] = frozenset()) -> list[str]:
    """The distinct well-known placeholder people/texts in a JSON body (lower-cased, sorted), a text
    that opens with "Lorem ipsum" counted as "lorem ipsum". Values in *exclude* (what the request
    itself sent, echoed back) never count."""
    found: set[str] = set()
    for _, v in leaves(obj):
        if not isinstance(v, str) or v.strip() in exclude:
            continue
        low = " ".join(v.strip().lower().split())
        if low in PLACEHOLDER_IDENTITIES:
            found.add(low)
        elif low.startswith("lorem ipsum"):
            found.add("lorem ipsum")
    return sorted(found)


PLACEHOLDER_TOKENS = {"foo", "bar", "baz", "lorem", "ipsum", "dummy", "mock", "mocked", "fake",
                      "placeholder", "sample", "todo", "tbd", "test", "example"}

# Vocabulary of the classic Lorem ipsum passage (json-schema-faker, faker.lorem, Prism -d).
LOREM_WORDS = set("""
lorem ipsum dolor sit amet consectetur adipiscing adipisicing elit sed do eiusmod tempor incididunt ut
labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip
ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum eu fugiat nulla
pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est
laborum perspiciatis unde omnis iste natus error voluptatem accusantium doloremque laudantium totam rem
aperiam eaque ipsa quae ab illo inventore veritatis quasi architecto beatae vitae dicta explicabo nemo
ipsam quia voluptas aspernatur aut odit fugit consequuntur magni dolores eos ratione sequi nesciunt neque
porro quisquam dolorem numquam eius modi tempora incidunt magnam quaerat minima nostrum exercitationem
ullam corporis suscipit laboriosam aliquid commodi consequatur autem vel eum iure quam nihil molestiae
illum quo accusamus iusto odio dignissimos ducimus blanditiis praesentium voluptatum deleniti atque
corrupti quos quas molestias excepturi occaecati cupiditate provident similique mollitia animi dolorum
fuga harum quidem rerum facilis expedita distinctio nam libero tempore cum soluta nobis eligendi optio
cumque impedit minus maxime placeat facere possimus assumenda repellendus temporibus quibusdam officiis
debitis necessitatibus saepe eveniet voluptates repudiandae recusandae itaque earum hic tenetur sapiente
delectus reiciendis voluptatibus maiores alias perferendis doloribus asperiores repellat
""".split())
# Lorem words that are also common words/names elsewhere: never count on their own.
_LOREM_AMBIGUOUS = {"do", "ad", "in", "id", "est", "et", "ex", "ea", "eu", "non", "sit", "qui", "quo",
                    "nam", "hic", "cum", "sed", "ut", "vel", "eum", "rem", "ab", "nisi", "minus",
                    "error", "magna", "alias", "fuga", "nemo", "animi", "nulla", "culpa", "vitae",
                    "quasi", "minima", "optio", "odio", "velit", "harum", "iste", "totam", "natus",
                    "amet", "enim", "aut", "quam", "quia", "modi", "odit", "iure", "atque", "dicta",
                    "eius", "porro", "ipsa", "sint", "sunt", "esse", "illum", "nobis", "saepe",
                    "earum", "rerum"}
_WORD_RE = re.compile(r"[A-Za-zÀ-ÿ]+")


def lorem_score(text: str, *, phrase: bool = True) -> float:
    """How much *text* looks like Lorem ipsum, 0..1.

    1.0 for text whose words are (almost) all lorem vocabulary with at least
    two distinctive words or (with *phrase*) an explicit "lorem ipsum"; 0.5
    for one distinctive lorem word on its own (e.g. ``"Excepteur"``); else 0.
    """
    low = text.lower()
    if phrase and "lorem ipsum" in low:
        return 1.0
    words = [w.lower() for w in _WORD_RE.findall(text)]
    if not words:
        return 0.0
    lorem = [w for w in words if w in LOREM_WORDS]
    distinctive = [w for w in lorem if w not in _LOREM_AMBIGUOUS and len(w) >= 5]
    frac = len(lorem) / len(words)
    if len(words) >= 2 and frac >= 0.75 and len(distinctive) >= 1 and len(lorem) >= 2:
        return 1.0
    if len(words) == 1 and distinctive:
        return 0.5
    return 0.0


def placeholder_leaf(key: str, value: Any) -> tuple[float, str]:
    """Score one JSON leaf: ``(score 0..1, reason)``.

    * 1.0 — exact sampler value (``"string"``, ``"2019-08-24T14:15:22Z"``,
      Swagger/Prism sample UUIDs, Lorem ipsum text...).
    * 0.6 — a classic hand-made placeholder (``"foo"``, ``"John Doe"``,
      ``"test@test.com"``, ``"TODO"``...).
    * 0.3 — a placeholder *token* inside a longer value (``"Test User"``),
      an ``@example.com`` address, a lone lorem word.
    Numbers/booleans score 0 here; all-zero / all-true patterns are judged
    on the whole body by :func:`placeholder_profile`.
    """
    if not isinstance(value, str):
        return 0.0, ""
    s = value.strip()
    low = s.lower()
    if not s:
        return 0.0, ""
    if low in SAMPLER_VALUES:
        return 1.0, f"{key}={value!r} (spec-sampler example value)"
    if UUID_RE.match(s) and key and s.lower() in {prism_sample_uuid(key), prism_sample_uuid("id")}:
        return 1.0, f"{key}={value!r} (UUID Prism derives from the property name)"
    ls = lorem_score(s)
    if ls >= 1.0:
        return 1.0, f"{key}={_short(value)!r} (lorem ipsum)"
    if low in PLACEHOLDER_VALUES:
        return 0.6, f"{key}={value!r} (placeholder value)"
    if re.fullmatch(r"(string|test|sample|foo|bar|dummy|mock|example|value|item|user|product|name)[\s_-]?\d{1,3}", low):
        return 0.6, f"{key}={value!r} (numbered placeholder)"
    if ls >= 0.5:
        return 0.3, f"{key}={value!r} (lorem word)"
    if re.fullmatch(r"[^@\s]+@example\.(com|org|net)", low):
        return 0.3, f"{key}={value!r} (@example.* documentation domain)"
    tokens = set(re.findall(r"[a-z]+", low))
    if tokens & PLACEHOLDER_TOKENS and len(s) <= 40:
        return 0.3, f"{key}={value!r} (contains a placeholder word)"
    return 0.0, ""


def _short(v: Any, n: int = 48) -> str:
    s = str(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def placeholder_profile(obj: Any) -> dict:
    """Aggregate placeholder statistics over the leaves of a JSON body.

    Returns ``{"leaves", "strings", "score", "hits", "reasons",
    "zero_numbers", "numbers", "true_bools", "bools", "empty_strings",
    "prism_uuid"}``.
    """
    lv = leaves(obj)
    score = 0.0
    hits = 0
    reasons: list[str] = []
    numbers = zero_numbers = bools = true_bools = strings = empty = 0
    prism_uuid = False
    seen: set[tuple[str, str]] = set()
    for key, value in lv:
        if isinstance(value, bool):
            bools += 1
            true_bools += value is True
            continue
        if isinstance(value, (int, float)):
            numbers += 1
            zero_numbers += value == 0
            continue
        if isinstance(value, str):
            strings += 1
            if value == "":
                empty += 1
                continue
            s, why = placeholder_leaf(key, value)
            if s > 0:
                score += s
                hits += 1
                if "Prism derives" in why:
                    prism_uuid = True
                sig = (key, str(value))
                if sig not in seen and len(reasons) < 6:
                    seen.add(sig)
                    reasons.append(why)
    return {
        "leaves": len(lv), "strings": strings, "score": score, "hits": hits, "reasons": reasons,
        "zero_numbers": zero_numbers, "numbers": numbers, "true_bools": true_bools, "bools": bools,
        "empty_strings": empty, "prism_uuid": prism_uuid,
    }


def cv(values: list[float]) -> float:
    """Coefficient of variation (population std / mean)."""
    if not values:
        return math.inf
    m = sum(values) / len(values)
    if m <= 0:
        return math.inf
    var = sum((v - m) ** 2 for v in values) / len(values)
    return math.sqrt(var) / m
