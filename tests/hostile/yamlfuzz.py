"""Hostile campaign files: mutations of real campaign files, alias bombs, deep nesting, unsafe tags,
non-finite and huge numbers, broken encodings and special files (FIFO, devices, directories).

Used by ``bench/fuzz.py`` (10,000 files, each loaded in a watched worker process) and by the
property-based tests in ``tests/campaigns/test_fuzz.py``. Pure: the standard library and PyYAML;
every generator takes a ``random.Random`` so a run is repeatable from its seed.

    rng = random.Random(7)
    for case in cases(rng, 100, tmp_dir):   # Case(kind, path)
        ...
"""

from __future__ import annotations

import copy
import os
import random
import socket
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]

#: the repository's own campaign files: the seeds every mutation starts from
SEED_FILES = ("campaigns/demo.yaml", "campaigns/examples/shop-api.yaml", "tests/chaos/demo_chaos.yaml",
              "tests/e2e/demo-e2e.yaml", "tests/load/demo_load.yaml")

MINIMAL = """\
campaign: shop-api
team: payments
environments:
  dev:        {kind: dev, base_url: "http://127.0.0.1:8001"}
  production: {kind: production, base_url: "http://127.0.0.1:8003",
               caps: {max_rps: 50, max_vus: 20, max_duration: 5m}}
endpoints:
  - {name: list-products, method: GET, path: "/api/products?limit=20", expect: {status: [200]}}
  - {name: product, method: GET, path: "/api/products/{id}", params: {id: [1, 2, 3]}}
  - {name: create-order, method: POST, path: /api/orders, json: {product_id: 1, qty: 2}, expect: {status: [201]}}
load:
  rate: 10
  duration: 5s
  thresholds: ["p(95)<300"]
"""

#: YAML spellings a value may be replaced with (text-level mutations)
HOSTILE_SCALARS = (
    ".inf", "-.inf", ".nan", ".NaN", "1.0e+309", "-1.0e+309", "1e309", "99999999999999999999999999999999",
    "9" * 5000, "-1", "0", "-0.0", "0x7fffffffffffffff", "0o777", "1_000_000", "12:30:45", "~", "null", "", "[]",
    "{}", "yes", "no", "on", "'\\x00'", '"\\0"', '"\\r\\nX-Injected: 1"', '"é€😀"', "2020-13-45", "2020-02-30",
    "!!timestamp not-a-date", "!!int abc", "!!float abc", "!!bool maybe", "!!binary '%%%'", "!!binary aGVsbG8=",
    "!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!python/object:object {}",
    "!!set {a, b}", "!!omap [a, b]", "!!pairs [[a, 1]]", "!!str", "!!map [1, 2]", "!!seq {a: 1}", "*undefined",
    "&anchor value", "!custom tag", "!<tag:example.com,2024:x> 1", '"${env:PERFCAMPAIGN_FUZZ_UNSET}"',
    '"${prefect:nope}"', '"{{ nope }}"', '"{{"', '"}}"', '"{{ $randomInt(1) }}"', '"{{ $nope() }}"', "'%'",
    "'5%'", "'1e9s'", "'-5s'", "'720h1s'", "'1h30m'", "'0s'", "'1e-9'", "'p(95)<'", "'p(1e999)<1'",
    "'error_rate<200%'", '"http://127.0.0.2:1/"', '"file:///etc/passwd"', '"javascript:alert(1)"',
    '"/../../etc/passwd"', '"//evil.example/x"', "? complex key", "- list", "| literal", "> folded", "'unterminated",
    '"unterminated', "[unclosed", "{unclosed", "@reserved", "`reserved", "%directive", "--- ", "...",
)

#: Python values a data-level mutation may put anywhere
HOSTILE_VALUES: tuple[Any, ...] = (
    float("inf"), float("-inf"), float("nan"), 10**30, -(10**30), 2**53, 2**53 + 1, 2**63, -1, 0, -0.0, 1e-300,
    1e300, 1_000_001, 100_001, "", " ", "x" * 100_000, None, [], {}, True, False, "\r\n", "\x00", "\t",
    "é€😀", "a\r\nX-Injected: 1", "../../etc/passwd", "${env:PERFCAMPAIGN_FUZZ_UNSET}", "${prefect:nope}",
    "{{ nope }}", "{{", "}}", "{{ $nope() }}", "{nope}", "/{id}", "1e9s", "-5s", "720h1s", "0s", "1e999",
    "inf", "nan", "5%", "200%", "p(95)<", "p(0)<1", "p(100.5)<1", "error_rate<2", "rps>=1e999", "GET", "get",
    "TRACE", "http://127.0.0.2:1", "http://[::1]:0", "http://user:pass@127.0.0.1/", "https://", "127.0.0.1:99999",
    "production", "dev", "chaos", ["chaos"], [None], [[[]]], {"": None}, {"a": {"b": {"c": {}}}}, [1, "a", None],
    {"<<": None}, 3.5, 7, "7", "1.5", "$.token", "$", "$[", "items[999999999999]",
)

NUMERIC_EDGES: tuple[Any, ...] = (0, -1, 1, 0.5, 1e-9, 1e9, 1_000_000, 1_000_001, 100_000, 100_001, 2**53,
                                  2**53 + 1, 30 * 86400, 30 * 86400 + 1, float("inf"), float("nan"), 10**400)


#: values that pass validation yet stress what comes after it (planner, engine, k6 export, chaos)
VALID_EDGES: tuple[Any, ...] = (1, 0.001, 1e-6, 1_000_000, 100_000, 2**53, 0.5, 3, "1ms", "30d", "720h", "0.001s",
                                "1h30m", "é€😀", "{{ $uuid() }}", "{{ $randomInt(1, 10) }}", "x" * 5000, "/", "/%",
                                "/{{ users.email }}", "/é", "/a b")


@dataclass
class Case:
    kind: str
    path: Path


def seed_texts() -> list[tuple[str, str]]:
    """Whole campaigns: the minimal one, the repository's campaign files, and the demo campaign with
    each proposed section of the test folders in place of its own (feeder paths made absolute, so a
    mutated copy written elsewhere still finds them)."""
    out = [("minimal", MINIMAL)]
    demo_text = (ROOT / "campaigns/demo.yaml").read_text(encoding="utf-8")
    demo_text = demo_text.replace("data/demo-users.csv", str(ROOT / "campaigns/data/demo-users.csv"))
    for rel in SEED_FILES:
        p = ROOT / rel
        if not p.exists():
            continue
        text = p.read_text(encoding="utf-8")
        if rel.startswith("tests/"):  # a section: put it into the demo campaign
            section = yaml.safe_load(text)
            if not isinstance(section, dict):
                continue
            demo = yaml.safe_load(demo_text)
            demo.update(section)
            text = yaml.safe_dump(demo, sort_keys=False, allow_unicode=True)
        elif rel == "campaigns/demo.yaml":
            text = demo_text
        out.append((rel, text))
    return out


# -------------------------------------------------------------------------------------------------
# data-level mutations: the file's structure stays, one spot becomes hostile
# -------------------------------------------------------------------------------------------------


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(data, path[:-1])[path[-1]] = value
    return data


def _deep(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


def gentle(data: Any, rng: random.Random, rounds: int = 3) -> Any:
    """Valid-looking changes: edge values where values are, list items repeated under new names."""
    data = copy.deepcopy(data)
    for _ in range(rounds):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = rng.choice(paths)
        current = _get(data, path)
        if isinstance(current, list) and current and rng.random() < 0.5:
            item = copy.deepcopy(rng.choice(current))
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                item["name"] = f"{item['name']}-{rng.randint(2, 999)}"
            current.append(item)
        elif isinstance(current, bool):
            _set(data, path, not current)
        elif isinstance(current, (int, float)):
            _set(data, path, rng.choice([v for v in VALID_EDGES if isinstance(v, (int, float))]))
        elif isinstance(current, str) and path[-1] not in ("name", "campaign", "kind", "method", "endpoint"):
            if current[:1].isdigit():
                _set(data, path, rng.choice(("1ms", "30d", "720h", "0.001s", "1h30m", "1", "0.5")))
            elif current.startswith("/"):
                _set(data, path, rng.choice(("/", "/%", "/{{ users.email }}", "/é", "/a b", "/x?y=1&z", "/#f")))
            elif rng.random() < 0.3:
                _set(data, path, rng.choice(("é€😀", "{{ $uuid() }}", "{{ $randomInt(1, 10) }}", "x" * 5000)))
    return data


def mutate_data(data: Any, rng: random.Random, rounds: int = 1) -> Any:
    data = copy.deepcopy(data)
    for _ in range(rounds):
        paths = _paths(data)
        path = rng.choice(paths)
        current = _get(data, path)
        op = rng.random()
        if op < 0.35:
            value = rng.choice(HOSTILE_VALUES)
        elif op < 0.50 and isinstance(current, (int, float)) and not isinstance(current, bool):
            value = rng.choice(NUMERIC_EDGES)
        elif op < 0.55:
            value = _deep(rng.choice((20, 63, 65, 200)))
        elif op < 0.65 and path:
            parent = _get(data, path[:-1])
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, list) and path[-1] < len(parent):
                parent.pop(path[-1])
            continue
        elif op < 0.72 and isinstance(current, dict):
            current[rng.choice(("extra", "unknown_field", "kind", "name", "<<", "json", "if", 1, None))] = \
                rng.choice(HOSTILE_VALUES)
            continue
        elif op < 0.80 and isinstance(current, list) and current:
            current.append(copy.deepcopy(rng.choice(current)))
            continue
        elif op < 0.88 and path:
            other = _get(data, rng.choice(paths))
            value = copy.deepcopy(other)
            if _size(value) > 5000:
                continue
        elif op < 0.94:
            value = _retype(current, rng)
        else:
            value = [copy.deepcopy(current)] * rng.choice((2, 50))
        try:
            data = _set(data, path, value)
        except (TypeError, IndexError, KeyError):
            pass
    return data


def _size(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_size(v) for v in value)
    return 1


def _retype(value: Any, rng: random.Random) -> Any:
    if isinstance(value, str):
        return rng.choice(([value], {value: value}, len(value), value * 3, value.upper(), value[::-1]))
    if isinstance(value, bool):
        return rng.choice(("true", 1, None))
    if isinstance(value, (int, float)):
        return rng.choice((str(value), [value], {"v": value}, -value, value * 1e6))
    if isinstance(value, list):
        return rng.choice(({str(i): v for i, v in enumerate(value)}, value[:1], [], "list"))
    if isinstance(value, dict):
        return rng.choice((list(value.values()), list(value), "mapping", None))
    return rng.choice(HOSTILE_VALUES)


def dump(data: Any, rng: random.Random) -> str:
    flow = rng.random() < 0.3
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=rng.random() < 0.5, default_flow_style=flow,
                              width=rng.choice((80, 4096)))
    except (yaml.YAMLError, RecursionError, ValueError):
        return "campaign: x\n"


# -------------------------------------------------------------------------------------------------
# text-level mutations
# -------------------------------------------------------------------------------------------------


def mutate_text(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    if not lines:
        return text
    op = rng.random()
    i = rng.randrange(len(lines))
    if op < 0.30:  # a value becomes a hostile YAML spelling
        line = lines[i]
        if ": " in line:
            head, _, _ = line.partition(": ")
            lines[i] = f"{head}: {rng.choice(HOSTILE_SCALARS)}"
        else:
            lines.insert(i, f"{rng.choice(('x', 'campaign', 'load', 'endpoints', 'environments'))}: "
                            f"{rng.choice(HOSTILE_SCALARS)}")
    elif op < 0.40:  # a line twice (duplicate keys), or gone
        if rng.random() < 0.5:
            lines.insert(i, lines[i])
        else:
            del lines[i]
    elif op < 0.50:  # indentation broken
        lines[i] = " " * rng.choice((1, 3, 7)) + lines[i] if rng.random() < 0.7 else "\t" + lines[i].lstrip()
    elif op < 0.60:  # characters flipped
        chars = list("\n".join(lines))
        for _ in range(rng.randint(1, 8)):
            if chars:
                chars[rng.randrange(len(chars))] = rng.choice(string.printable + "\x00\x1b\u2028\ufeff:{}[]&*!|>'\"%@`")
        return "".join(chars)
    elif op < 0.70:  # cut anywhere
        body = "\n".join(lines)
        return body[: rng.randrange(len(body) + 1)]
    elif op < 0.78:  # a stretch repeated
        body = "\n".join(lines)
        a = rng.randrange(len(body) + 1)
        b = min(len(body), a + rng.randint(1, 400))
        return body[:b] + body[a:b] * rng.randint(1, 20) + body[b:]
    elif op < 0.86:  # a hostile structure pasted in
        lines.insert(i, structure(rng))
    elif op < 0.93:  # anchors and aliases
        lines.insert(0, "x-defaults: &d {kind: dev, base_url: 'http://127.0.0.1:1'}")
        lines.insert(i + 1, rng.choice(("  other: *d", "<<: *d", "y: *d", "  <<: *d", "z: *nope")))
    else:  # another document
        lines.append(rng.choice(("---", "--- !!set", "...", "---\ncampaign: second")))
    return "\n".join(lines) + ("\n" if rng.random() < 0.9 else "")


def alias_bomb(levels: int, width: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * width) + "]")
    return "\n".join(lines)


def structure(rng: random.Random) -> str:
    """A top-level key holding something hostile to a parser."""
    kind = rng.randrange(9)
    if kind == 0:
        return alias_bomb(rng.randint(3, 12), rng.randint(3, 20))
    if kind == 1:
        depth = rng.choice((60, 65, 500, 5000, 50_000))
        return "deep: " + "[" * depth + "]" * depth
    if kind == 2:
        depth = rng.choice((60, 65, 300, 2000))
        return "deep:\n" + "".join(" " * (k + 1) + f"k{k}:\n" for k in range(depth)) + " " * (depth + 1) + "v"
    if kind == 3:
        return "rec: &r [a, *r]" if rng.random() < 0.5 else "rec: &r {a: *r}"
    if kind == 4:
        return "many:\n" + "".join(f"  k: {n}\n" for n in range(rng.choice((2, 1000, 20_000))))
    if kind == 5:
        return "aliases:\n  base: &b 1\n" + "".join(f"  - *b\n" for _ in range(rng.choice((10, 1001, 5000))))
    if kind == 6:
        return "long: " + "x" * rng.choice((1024, 100_000, 1_000_000))
    if kind == 7:
        return "key" * rng.choice((400, 2000)) + ": 1"
    return "tags: " + rng.choice(("!!python/object/new:os.system [true]", "!!python/module:os",
                                  "!!python/object/apply:subprocess.check_output [[id]]"))


# -------------------------------------------------------------------------------------------------
# files generated from the campaign model's JSON Schema
# -------------------------------------------------------------------------------------------------


class SchemaGenerator:
    """Random documents shaped by the campaign's JSON Schema, mostly valid values with hostile ones
    mixed in (every ``hostile`` chance)."""

    def __init__(self, schema: dict[str, Any], rng: random.Random, hostile: float = 0.05):
        self.schema, self.rng, self.hostile = schema, rng, hostile
        self.defs = schema.get("$defs", {})

    def document(self) -> Any:
        return self.value(self.schema, 0)

    def value(self, node: dict[str, Any], depth: int) -> Any:
        rng = self.rng
        if rng.random() < self.hostile:
            return rng.choice(HOSTILE_VALUES)
        if "$ref" in node:
            return self.value(self.defs[node["$ref"].rsplit("/", 1)[1]], depth + 1)
        for key in ("anyOf", "oneOf"):
            if key in node:
                return self.value(rng.choice(node[key]), depth + 1)
        if "allOf" in node:
            return self.value(node["allOf"][0], depth + 1)
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return rng.choice(node["enum"])
        kind = node.get("type")
        if isinstance(kind, list):
            kind = rng.choice(kind)
        if depth > 12:
            return None
        if kind == "object" or "properties" in node:
            props = node.get("properties", {})
            required = set(node.get("required", ()))
            out: dict[str, Any] = {}
            for name, sub in props.items():
                if name in required or rng.random() < 0.3:
                    out[name] = self.value(sub, depth + 1)
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) and rng.random() < 0.6:
                for _ in range(rng.randint(1, 3)):
                    out[self.slug()] = self.value(extra, depth + 1)
            return out
        if kind == "array":
            items = node.get("items", {})
            low = node.get("minItems", 0)
            return [self.value(items, depth + 1) for _ in range(rng.randint(low, max(low, 3)))]
        if kind == "integer":
            low = node.get("minimum", node.get("exclusiveMinimum", 0))
            high = node.get("maximum", node.get("exclusiveMaximum", low + 1000))
            return rng.randint(int(low), int(min(high, low + 10**6)))
        if kind == "number":
            low = node.get("minimum", node.get("exclusiveMinimum", 0))
            high = node.get("maximum", node.get("exclusiveMaximum", low + 1000))
            return round(rng.uniform(low, min(high, low + 10**6)), 3)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "string":
            return self.string(node)
        if kind == "null":
            return None
        return rng.choice(("x", 1, None, [], {}))

    def slug(self) -> str:
        return self.rng.choice(("dev", "staging", "production", "health", "list-products", "a", "retail-ai",
                                "users", "x-y", "token"))

    def string(self, node: dict[str, Any]) -> str:
        rng = self.rng
        pattern = node.get("pattern", "")
        desc = (node.get("description") or "").lower()
        if "duration" in desc or "'5m'" in desc or pattern == "":
            choices = ["5s", "250ms", "1m", "1h30m", "2", "/health", "/api/items/{id}", "http://127.0.0.1:8001",
                       "p(95)<300", "error_rate<1%", "dev", "GET", "{{ token }}", "$.token", "Bearer ${env:T}",
                       "127.0.0.1:8001", "#perf", "latency", "list-products"]
            return rng.choice(choices)
        return self.slug()


# -------------------------------------------------------------------------------------------------
# special files
# -------------------------------------------------------------------------------------------------


def special_files(tmp: Path) -> list[Case]:
    """Files no loader should block on or read in full: a FIFO with no writer, devices, a directory,
    a socket, an oversized file, and campaigns whose CSV feeder is one of those."""
    tmp.mkdir(parents=True, exist_ok=True)
    out: list[Case] = []
    fifo = tmp / "fifo.yaml"
    if not fifo.exists():
        os.mkfifo(fifo)
    out.append(Case("special:fifo", fifo))
    for dev in ("/dev/zero", "/dev/urandom", "/dev/null"):
        link = tmp / f"dev-{Path(dev).name}.yaml"
        if not link.exists():
            link.symlink_to(dev)
        out.append(Case(f"special:{dev}", link))
    folder = tmp / "folder.yaml"
    folder.mkdir(exist_ok=True)
    out.append(Case("special:directory", folder))
    sock_path = tmp / "sock.yaml"
    if not sock_path.exists():
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(sock_path))
        sock.close()
    out.append(Case("special:socket", sock_path))
    big = tmp / "big.yaml"
    big.write_text(MINIMAL + "description: '" + "x" * (3 * 1024 * 1024) + "'\n")
    out.append(Case("special:3MB", big))
    out.append(Case("special:missing", tmp / "does-not-exist.yaml"))
    bad_utf8 = tmp / "latin1.yaml"
    bad_utf8.write_bytes(MINIMAL.encode() + b"description: caf\xe9\n")
    out.append(Case("special:not-utf8", bad_utf8))
    bom = tmp / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    out.append(Case("special:bom", bom))
    feeders = {"fifo": fifo, "zero": Path("/dev/zero"), "dir": folder, "missing": tmp / "nope.csv"}
    huge_field = tmp / "huge-field.csv"
    huge_field.write_text("email,password\n" + "a" * 200_000 + ",b\n")
    feeders["huge-field"] = huge_field
    nul = tmp / "nul.csv"
    nul.write_bytes(b"email,password\na\x00b,c\n")
    feeders["nul"] = nul
    latin = tmp / "latin.csv"
    latin.write_bytes(b"email,password\ncaf\xe9,x\n")
    feeders["latin1"] = latin
    empty = tmp / "empty.csv"
    empty.write_text("")
    feeders["empty"] = empty
    quote = tmp / "quote.csv"
    quote.write_text('email,password\n"unterminated,x\n')
    feeders["quote"] = quote
    for name, target in feeders.items():
        f = tmp / f"feeder-{name}.yaml"
        f.write_text(MINIMAL + f"data:\n  users: {{file: {str(target)!r}}}\n")
        out.append(Case(f"special:feeder-{name}", f))
    return out


# -------------------------------------------------------------------------------------------------
# the mix
# -------------------------------------------------------------------------------------------------


def _write(tmp: Path, n: int, content: str | bytes) -> Path:
    path = tmp / f"case-{n:05d}.yaml"
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    path.write_bytes(content)
    return path


def cases(rng: random.Random, count: int, tmp: Path) -> Iterator[Case]:
    """``count`` hostile files written under ``tmp`` (special files first), each with its kind."""
    tmp.mkdir(parents=True, exist_ok=True)
    specials = special_files(tmp / "special")
    yield from specials[:count]
    seeds = seed_texts()
    datas = []
    for name, text in seeds:
        try:
            datas.append((name, yaml.safe_load(text)))
        except yaml.YAMLError:
            pass
    from campaigns.model import Campaign  # the schema generator's source

    schema = Campaign.model_json_schema(by_alias=True)
    for n in range(max(0, count - len(specials))):
        roll = rng.random()
        if roll < 0.20:
            name, data = rng.choice(datas)
            kind, content = f"gentle:{name}", dump(gentle(data, rng, rng.choice((1, 3, 6))), rng)
        elif roll < 0.40:
            name, data = rng.choice(datas)
            kind, content = f"data:{name}", dump(mutate_data(data, rng, rng.choice((1, 1, 2, 3))), rng)
        elif roll < 0.65:
            name, text = rng.choice(seeds)
            for _ in range(rng.choice((1, 1, 2, 4))):
                text = mutate_text(text, rng)
            kind, content = f"text:{name}", text
        elif roll < 0.80:
            kind = "schema"
            content = dump(SchemaGenerator(schema, rng, hostile=rng.choice((0.0, 0.02, 0.1))).document(), rng)
        elif roll < 0.92:
            kind = "structure"
            content = rng.choice(seeds)[1] + "\n" + structure(rng) + "\n"
        else:
            kind = "bytes"
            base = rng.choice(seeds)[1].encode()
            junk = rng.choice((b"\xff\xfe", b"\xc3\x28", b"\x00" * 10, b"\xef\xbb\xbf", os.urandom(64),
                               b"\r" * 50, b"\xed\xa0\x80"))
            at = rng.randrange(len(base) + 1)
            content = base[:at] + junk + base[at:]
        yield Case(kind, _write(tmp, n, content))
