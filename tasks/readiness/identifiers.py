"""Real identifiers, found before placeholders are trusted.

A campaign written from an OpenAPI spec carries example ids (``3fa85f64-…``, ``sample``) that
exist nowhere; a hand-written one may carry ids that were deleted since. Before an item route is
judged on a 404, the probe looks for an id that really exists: in the lists other endpoints
returned (``GET /flows``, ``POST /flows/filter``), in the references objects carry
(``flow_id`` in a flow run), and in what this run's own write probes created. :class:`IdPool`
gathers them as responses come in; :meth:`IdPool.candidates` answers "which values could fill
``{placeholder}`` in this URL template".

Collections are keyed by their URL without query (``http://h/api/flows``); a list answered by a
query-style POST (``/flows/filter``) belongs to its parent collection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .content import UUID_RE, extract_list, is_id_key

#: last path segments of a POST that only reads: the list it answers belongs to the parent
QUERY_VERBS = {"filter", "filters", "search", "query", "paginate", "list", "find", "lookup", "count", "history"}
#: object keys that name an object (besides its id), in the order they are tried
NAME_KEYS = ("name", "slug", "key", "code", "handle", "username", "login", "email", "sku", "number", "checksum", "tag")
_PH_RE = re.compile(r"\{([^{}/?&=#]+)\}")
_WORD_RE = re.compile(r"[a-z0-9]+")


def singular(word: str) -> str:
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "ches", "shes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def noun_of(segment: str) -> str:
    """``flow_runs`` → ``flowrun``; ``block-types`` → ``blocktype``: a collection's noun, flattened."""
    return re.sub(r"[^a-z0-9]", "", singular(segment.lower()))


def ref_noun(key: str) -> str | None:
    """The noun a reference key points at: ``flow_id`` → ``flow``, ``blockTypeId`` → ``blocktype``."""
    m = re.match(r"^(.+?)(?:_id|Id|ID|_uuid|Uuid)$", key.strip())
    if not m:
        return None
    return re.sub(r"[^a-z0-9]", "", m.group(1).lower()) or None


def strip_url(url: str) -> str:
    p = urlsplit(url)
    return urlunsplit(p._replace(query="", fragment="")).rstrip("/")


def route_regex(template: str) -> str:
    """A regular expression for the URLs ``template`` names (query and trailing slash stripped):
    each ``{placeholder}`` stands for one path segment."""
    return re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(strip_url(template)))


def addressed_fields(template: str) -> set[str]:
    """The body fields a route addresses its object by: ``/users/{name}`` → name, ``{id}`` → id."""
    return {str(split_placeholder(name)[1]).lower() for name in _PH_RE.findall(template)}


def list_collection(url: str) -> str:
    """The collection a list answered at ``url`` belongs to (query-style verbs go to the parent)."""
    base = strip_url(url)
    head, _, last = base.rpartition("/")
    tokens = set(_WORD_RE.findall(last.lower()))
    if tokens & QUERY_VERBS and "{" not in last:
        return head
    return base


@dataclass
class Known:
    """An object seen on the target: its JSON, whether this run created it, and where it came from."""

    obj: dict
    own: bool
    source: str


def _is_scalar_id(v: Any) -> bool:
    return isinstance(v, (str, int)) and not isinstance(v, bool) and str(v) != ""


def object_id(obj: dict) -> Any:
    for k in ("id", "_id", "uuid", "guid", "key", "pk"):
        if _is_scalar_id(obj.get(k)):
            return obj[k]
    return None


_FIELD_SUFFIXES = ("id", "uuid", "name", "slug", "key", "code", "handle", "username", "email", "sku", "number",
                   "checksum", "tag")


def split_placeholder(placeholder: str) -> tuple[str | None, str]:
    """``flow_name`` → (``flow``, ``name``); ``work_pool_name`` → (``workpool``, ``name``); ``id`` →
    (None, ``id``); ``blockTypeId`` → (``blocktype``, ``id``); ``sku`` → (None, ``sku``)."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", placeholder)
    words = [w.lower() for w in words if w]
    if "or" in words and words[0] in _FIELD_SUFFIXES:  # id_or_name, nameOrId
        return None, words[0]
    if len(words) >= 2 and words[-1] in _FIELD_SUFFIXES:
        return "".join(singular(w) if i == len(words) - 2 else w for i, w in enumerate(words[:-1])), words[-1]
    flat = "".join(words) or placeholder.lower()
    return None, flat


def value_for(obj: dict, placeholder: str, literal: str | None = None) -> Any:
    """Which field of ``obj`` fills ``{placeholder}``: the field of that name; the id for ``id``
    and ``*_id``; ``name`` for ``work_pool_name``; the field the preceding literal names
    (``/flows/name/{name}``, ``/block_types/slug/{slug}``)."""
    if _is_scalar_id(obj.get(placeholder)):
        return obj[placeholder]
    if literal and _is_scalar_id(obj.get(literal)):
        return obj[literal]
    low = placeholder.lower()
    flat = re.sub(r"[^a-z0-9]", "", low)
    if low in ("id", "_id", "pk", "uuid", "guid", "idorname") or is_id_key(placeholder) or flat.endswith("idorname"):
        v = object_id(obj)
        if v is not None:
            return v
    for key in NAME_KEYS:
        if (flat.endswith(key) or (literal or "").lower() == key) and _is_scalar_id(obj.get(key)):
            return obj[key]
    return None


class IdPool:
    """Objects seen during one run, by collection URL, plus references by noun."""

    def __init__(self) -> None:
        self._by_collection: dict[str, list[Known]] = {}
        self._refs: dict[str, list[Any]] = {}

    # -- gathering ------------------------------------------------------------------------------
    def add(self, collection: str, obj: dict, *, own: bool, source: str) -> None:
        if not isinstance(obj, dict) or object_id(obj) is None and not any(k in obj for k in NAME_KEYS):
            return
        items = self._by_collection.setdefault(strip_url(collection), [])
        oid = object_id(obj)
        for k in items:
            if oid is not None and object_id(k.obj) == oid:
                k.own = k.own or own
                k.obj = {**k.obj, **obj}  # a newer answer (after a PATCH) names it as it is now
                return
        items.append(Known(obj, own, source))
        self._collect_refs(obj)

    def forget(self, collection: str, ref: Any) -> None:
        """An object was deleted: never offer it again."""
        items = self._by_collection.get(strip_url(collection), [])
        self._by_collection[strip_url(collection)] = [
            k for k in items if str(object_id(k.obj)) != str(ref) and not any(
                str(k.obj.get(n)) == str(ref) for n in NAME_KEYS if n in k.obj)]

    def harvest(self, url: str, method: str, data: Any, *, item_template: bool = False, source: str = "") -> int:
        """Objects in a 2xx JSON answer: the items of a list (collection = the list's URL), or the
        object itself when ``url`` is an item route (``item_template``: its collection is the URL's
        parent). Returns how many objects were added."""
        before = self.size()
        source = source or f"{method} {urlsplit(url).path}"
        items = extract_list(data)
        if items is not None and not item_template:
            coll = list_collection(url)
            for it in items[:50]:
                if isinstance(it, dict):
                    self.add(coll, it, own=False, source=source)
        elif isinstance(data, dict) and item_template:
            self.add(strip_url(url).rpartition("/")[0], data, own=False, source=source)
        elif isinstance(data, dict):
            self._collect_refs(data)
        return self.size() - before

    def _collect_refs(self, obj: Any, depth: int = 0) -> None:
        if depth > 3:
            return
        if isinstance(obj, dict):
            for k, v in obj.items():
                noun = ref_noun(str(k))
                if noun and _is_scalar_id(v) and not _looks_placeholder(v):
                    refs = self._refs.setdefault(noun, [])
                    if v not in refs and len(refs) < 20:
                        refs.append(v)
                elif isinstance(v, (dict, list)):
                    self._collect_refs(v, depth + 1)
        elif isinstance(obj, list):
            for v in obj[:20]:
                self._collect_refs(v, depth + 1)

    def size(self) -> int:
        return sum(len(v) for v in self._by_collection.values())

    # -- answering ------------------------------------------------------------------------------
    def objects(self, collection: str, *, own_only: bool = False) -> list[Known]:
        items = self._by_collection.get(strip_url(collection), [])
        return [k for k in items if k.own or not own_only]

    def candidates(self, collection: str, placeholder: str, literal: str | None = None, *,
                   own_only: bool = False, prefer_own: bool = False, limit: int = 3) -> list[tuple[Any, str]]:
        """Values that could fill ``{placeholder}`` for items of ``collection``, with where each came
        from. Discovered objects come first for reads (they are the team's real data), this run's
        own objects first when ``prefer_own`` (writes touch only what the probe created). A
        placeholder naming another noun (``{flow_name}`` under ``/deployments``) is looked up in
        the collections of that noun."""
        coll_noun = noun_of(strip_url(collection).rsplit("/", 1)[-1])
        ph_noun, field = split_placeholder(placeholder)
        if ph_noun and ph_noun != coll_noun:
            known = [k for c, items in self._by_collection.items() if noun_of(c.rsplit("/", 1)[-1]) == ph_noun
                     for k in items]
            getter = (lambda obj: value_for(obj, field)) if field not in ("id", "uuid") else object_id
            noun = ph_noun
        else:
            known = list(self._by_collection.get(strip_url(collection), []))
            getter = (lambda obj: value_for(obj, placeholder, literal))
            noun = coll_noun
        known = [k for k in known if k.own or not own_only]
        if prefer_own:
            known = sorted(known, key=lambda k: not k.own)
        out: list[tuple[Any, str]] = []
        for k in known:
            v = getter(k.obj)
            if v is not None and all(str(v) != str(o) for o, _ in out):
                out.append((v, ("created by this run: " if k.own else "listed by ") + k.source))
            if len(out) >= limit:
                return out
        if not own_only and field in ("id", "uuid"):
            for v in self._refs.get(noun, []):
                if all(str(v) != str(o) for o, _ in out):
                    out.append((v, f"a {noun}_id seen in another answer"))
                if len(out) >= limit:
                    break
        return out

    def reference(self, noun: str, *, own_only: bool = False) -> tuple[Any, str] | None:
        """A value for a body field ``<noun>_id``: an own object of a collection of that noun
        first, then any listed one, then a reference seen elsewhere."""
        best: tuple[Any, str] | None = None
        for coll, items in self._by_collection.items():
            if noun_of(coll.rsplit("/", 1)[-1]) != noun:
                continue
            for k in sorted(items, key=lambda k: not k.own):
                if own_only and not k.own:
                    continue
                v = object_id(k.obj)
                if v is None:
                    continue
                if k.own:
                    return v, f"created by this run in {urlsplit(coll).path}"
                if best is None:
                    best = (v, f"listed by {k.source}")
        if best is None and not own_only and self._refs.get(noun):
            best = (self._refs[noun][0], f"a {noun}_id seen in another answer")
        return best


_PLACEHOLDER_VALUES = {"string", "sample", "example", "test", "foo", "bar", "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                       "00000000-0000-0000-0000-000000000000", "497f6eca-6276-4993-bfeb-53cbbbba6f08"}


def _looks_placeholder(v: Any) -> bool:
    return str(v).strip().lower() in _PLACEHOLDER_VALUES


def looks_placeholder(v: Any) -> bool:
    """A value an API description or a sampler writes where a real id should go."""
    if isinstance(v, bool) or v is None:
        return False
    if isinstance(v, int):
        return v == 0
    s = str(v).strip().lower()
    return s in _PLACEHOLDER_VALUES or (bool(UUID_RE.match(s)) and len(set(s.replace("-", ""))) <= 2)


# --------------------------------------------------------------------------------------------
# URL templates
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    """One ``{placeholder}`` of a URL template: its name, the collection URL template its value
    indexes (the path before it, minus a literal that names the field: ``/flows/name/{name}`` →
    ``/flows``), and that literal."""

    name: str
    collection: str
    literal: str | None


def slots(template: str) -> list[Slot]:
    """The path placeholders of a URL template, left to right."""
    path_part, _, _ = template.partition("?")
    parts = urlsplit(path_part)
    segs = parts.path.split("/")
    out = []
    for i, seg in enumerate(segs):
        m = _PH_RE.fullmatch(seg)
        if not m:
            continue
        name = m.group(1)
        prev = segs[i - 1] if i > 0 else ""
        cut = i
        literal = None
        if prev and "{" not in prev and _names_field(prev, name):
            literal = prev
            cut = i - 1
        coll_path = "/".join(segs[:cut]) or "/"
        out.append(Slot(name, urlunsplit(parts._replace(path=coll_path)), literal))
    return out


def _names_field(literal: str, placeholder: str) -> bool:
    lit = re.sub(r"[^a-z0-9]", "", literal.lower())
    ph = re.sub(r"[^a-z0-9]", "", placeholder.lower())
    return lit in NAME_KEYS or lit in ("id", "uuid") or (len(lit) >= 3 and ph.endswith(lit))


def fill_template(template: str, values: dict[str, Any]) -> str:
    from .probe import fill

    return fill(template, values)
