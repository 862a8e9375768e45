"""Load a campaign file; every mistake is reported at once with its file, line and field.

The YAML is composed into a node tree first, so each validation error's location
(``environments.dev.kind``) can be traced back to the line that holds it. Duplicate keys, which
PyYAML would silently collapse, are errors too.

    >>> load_campaign("campaigns/demo.yaml")            # doctest: +SKIP
    LoadedCampaign(path=..., campaign=Campaign(...), sha256='…')
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from campaigns.errors import UserError
from campaigns.model import Campaign


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class CampaignError(UserError):
    """A campaign file that cannot be used; ``problems`` lists every mistake found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class LoadedCampaign:
    path: Path
    campaign: Campaign
    sha256: str
    text: str = field(repr=False)
    feeders: dict[str, list[dict[str, str]]] = field(default_factory=dict, repr=False)

    @property
    def base_dir(self) -> Path:
        return self.path.parent


#: a campaign file is read only up to this size (an OpenAPI import of 500 operations is ~200 kB);
#: parsing and validating this much takes about two seconds
MAX_FILE_BYTES = 1024 * 1024
#: a CSV feeder is read only up to this size
MAX_FEEDER_BYTES = 64 * 1024 * 1024
#: nesting deeper than this is refused (a campaign is ~10 levels deep; JSON bodies add a few)
MAX_DEPTH = 64
#: aliases (``*name``) in one file
MAX_ALIASES = 1_000
#: values in the file, also once every alias is expanded (an alias bomb expands to billions); a
#: campaign of 500 endpoints holds about 10,000
MAX_NODES = 100_000
#: problems listed per file (the rest are counted)
MAX_PROBLEMS = 200

try:  # libyaml's scanner and parser (5× faster); composing stays in Python, where the limits are
    from yaml._yaml import CParser

    _EVENTS: tuple[type, ...] = (CParser,)
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    _EVENTS = (Reader, Scanner, Parser)


class _Limit(yaml.MarkedYAMLError):
    """A size, depth or alias limit was passed while composing the file."""


class _Loader(Composer, *_EVENTS, SafeConstructor, Resolver):  # type: ignore[misc]
    """A safe loader that refuses what could hurt: nesting past :data:`MAX_DEPTH`, more than
    :data:`MAX_ALIASES` aliases, and aliases to a node that contains them (recursive structures);
    and that reports every constructor failure (a bad ``!!timestamp``, an unknown ``!!python/…`` tag,
    an unhashable key…) as a YAML error at the value's line.

    Events come from libyaml when PyYAML has it; nodes are composed here, one event at a time, so a
    limit stops the parse where it is passed (libyaml alone takes a minute over 100,000 ``[``)."""

    def __init__(self, stream: str):
        if len(_EVENTS) == 1:
            _EVENTS[0].__init__(self, stream)
        else:  # pragma: no cover
            _EVENTS[0].__init__(self, stream)
            _EVENTS[1].__init__(self)
            _EVENTS[2].__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._depth = 0
        self._aliases = 0
        self._nodes = 0
        self._open: list[str] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Limit(None, None, f"more than {MAX_ALIASES} aliases", event.start_mark)
            if event.anchor in self._open:
                raise _Limit(None, None, f"alias *{event.anchor} refers to a value that contains it "
                                         "(recursive structures are not allowed)", event.start_mark)
            return Composer.compose_node(self, parent, index)
        event = self.peek_event()
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Limit(None, None, f"holds more than {MAX_NODES:,} values", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Limit(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.append(anchor)
        try:
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.pop()

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return SafeConstructor.construct_object(self, node, deep)
        except yaml.MarkedYAMLError:
            raise
        except Exception as exc:  # noqa: BLE001 - ValueError, AttributeError… from a tag's constructor
            tag = node.tag.rpartition(":")[2]
            value = node.value if isinstance(node, yaml.ScalarNode) else ""
            why = (f"{value[:60]!r} is not a valid date or time" if tag == "timestamp" else
                   f"{value[:20]!r}… is too large a number" if "digits" in str(exc) else
                   f"{value[:60]!r} is not a valid {tag}" if value else f"not a valid {tag}: {_short(exc)}")
            raise yaml.constructor.ConstructorError(None, None, why, node.start_mark) from None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _yaml_problem(exc: yaml.YAMLError, text: str, file: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or _short(exc)
        if exc.context and exc.problem and not isinstance(exc, _Limit):
            what = f"{exc.problem} ({exc.context})"
        prefix = "file too complex: " if isinstance(exc, _Limit) else "invalid YAML: "
        return Problem(file, line, "", prefix + str(what).strip())
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return Problem(file, line, "", f"invalid YAML: control character U+{char:04X} is not allowed in YAML text")
    return Problem(file, None, "", f"invalid YAML: {_short(exc)}")


def _expanded_size(root: yaml.Node) -> tuple[int, int]:
    """(values, depth) of the tree once every alias is expanded, computed without expanding it
    (each collection once, iteratively: neither an alias bomb nor deep nesting can make it slow).
    The composer refuses cycles, so the node graph is acyclic."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in size:
            continue
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            size[key], depth[key] = 1, 1
            continue
        children = _children(node)
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children
                         if id(c) not in size and isinstance(c, (yaml.MappingNode, yaml.SequenceNode)))
            continue
        total, deepest = 1, 0
        for c in children:
            got = size.get(id(c))
            if got is None:  # a scalar
                total += 1
                deepest = max(deepest, 1)
            else:
                total += got
                deepest = max(deepest, depth[id(c)])
        size[key], depth[key] = min(total, MAX_NODES + 1), deepest + 1
    return size[id(root)], depth[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _compose(text: str, file: str) -> tuple[Any, yaml.Node | None, list[Problem]]:
    """Compose, check and construct: ``(data, node, problems)``; ``data`` is None on a problem."""
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters before anything is parsed
        return None, None, [_yaml_problem(exc, text, file)]
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            return None, None, [_yaml_problem(exc, text, file)]
        if node is None:
            return None, None, []
        values, depth = _expanded_size(node)
        if values > MAX_NODES or depth > MAX_DEPTH:
            aliased = " once its aliases are expanded" if loader._aliases else ""
            why = (f"holds more than {MAX_NODES:,} values{aliased}" if values > MAX_NODES
                   else f"nests more than {MAX_DEPTH} levels deep{aliased}")
            return None, node, [Problem(file, 1, "", f"file too complex: it {why}")]
        problems: list[Problem] = []
        _find_duplicates(node, file, problems)
        if problems:
            return None, node, problems
        try:
            data = loader.construct_document(node)
        except yaml.YAMLError as exc:
            return None, node, [_yaml_problem(exc, text, file)]
        except Exception as exc:  # noqa: BLE001 - a constructor's state generator failed
            return None, node, [Problem(file, node.start_mark.line + 1, "", f"invalid YAML: {_short(exc)}")]
        return data, node, []
    finally:
        loader.dispose()


def _find_duplicates(root: yaml.Node, file: str, out: list[Problem]) -> None:
    """Keys that appear twice in one mapping (PyYAML would keep the last silently). Each node is
    visited once, so shared (aliased) nodes cost nothing more."""
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    collections = (yaml.MappingNode, yaml.SequenceNode)
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else f"<{type(key).__name__}>"
                if isinstance(key, yaml.ScalarNode) and name != "<<":
                    if name in seen:
                        out.append(Problem(file, key.start_mark.line + 1, f"{path}.{name}" if path else name,
                                           "key appears twice"))
                    seen.add(name)
                if isinstance(value, collections):
                    stack.append((value, f"{path}.{name}" if path else name))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                if isinstance(item, collections):
                    stack.append((item, f"{path}[{i}]"))
    out.sort(key=lambda p: p.line or 0)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line (1-based) of the deepest key or item along ``loc`` that the file has."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value
                          if isinstance(k, yaml.ScalarNode) and str(k.value) == str(part)), None)
            if match is None:
                continue  # '[key]' or a pydantic union branch such as 'list[int]'
            key, node = match
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def _model_names() -> frozenset[str]:
    """Names of the campaign's models: pydantic puts them in an error's location for union members."""
    from campaigns.types import StrictModel

    names, todo = set(), [StrictModel]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return frozenset(names)


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    models = _model_names()
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        elif "[" in str(part) or str(part).startswith(("function-", "literal[")) or part in models:
            continue  # union branch names are pydantic's, not the user's
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(err: dict[str, Any]) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check its spelling; see `perfcampaign schema`)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    return msg


def parse_campaign(text: str, file: str = "<campaign>") -> Campaign:
    """Validate campaign YAML text; raise :class:`CampaignError` listing every problem.

    Never raises anything else for any text: YAML errors, constructor errors (tags such as
    ``!!python/object``), duplicate keys, alias bombs, deep nesting and invalid values all
    become problems with the file and line."""
    if len(text) > MAX_FILE_BYTES:
        raise CampaignError([Problem(file, None, "", f"the text is {len(text):,} characters; a campaign file "
                                                     f"is at most {MAX_FILE_BYTES:,} bytes")])
    data, node, problems = _compose(text, file)
    if problems:
        raise CampaignError(_capped(problems, file))
    if node is None:
        raise CampaignError([Problem(file, 1, "", "the file is empty")])
    if not isinstance(data, dict):
        raise CampaignError([Problem(file, 1, "", "a campaign file is a YAML mapping (campaign:, environments:, …)")])
    from campaigns.importers.detect import foreign_kind, import_hint

    kind = foreign_kind(data)
    if kind is not None:
        raise CampaignError([Problem(file, 1, "", import_hint(kind, file))])
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        seen: set[tuple[int | None, str, str]] = set()
        for err in exc.errors(include_url=False, include_input=False, include_context=False):
            loc = tuple(err["loc"])
            problem = Problem(file, _line_of(node, loc), _field_path(loc), _message(err))
            key = (problem.line, problem.field, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
        raise CampaignError(_capped(problems, file)) from None


def _capped(problems: list[Problem], file: str) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return [*problems[:MAX_PROBLEMS], Problem(file, None, "", f"… and {len(problems) - MAX_PROBLEMS} more problems")]


class _Unreadable(Exception):
    """Why a file cannot be read (the message names it)."""


def read_bounded(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; :class:`_Unreadable` otherwise.

    Opens without blocking (a FIFO with no writer would hang a plain ``open``) and refuses anything
    that is not a regular file (directories, FIFOs, devices such as ``/dev/zero``, sockets) before
    reading; reads at most ``limit + 1`` bytes, so a file that grows while it is read is bounded too.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _Unreadable(f"cannot read {what}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _Unreadable(f"cannot read {what}: it is a directory")
        if not stat.S_ISREG(info.st_mode):
            kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else
                    "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                    "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            raise _Unreadable(f"cannot read {what}: it is {kind}, not a regular file")
        if info.st_size > limit:
            raise _Unreadable(f"{what} is {info.st_size:,} bytes; the limit is {limit:,}")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise _Unreadable(f"{what} is more than {limit:,} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise _Unreadable(f"cannot read {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_feeder(fh: Any, feeder: Any) -> list[dict[str, str]]:
    """A feeder's rows: the first row names the columns, or ``fields`` does (Artillery's payload)."""
    if feeder.fields is None:
        return list(csv.DictReader(fh, delimiter=feeder.delimiter))
    reader = csv.reader(fh, delimiter=feeder.delimiter)
    if feeder.skip_header:
        next(reader, None)
    return [dict(zip(feeder.fields, row, strict=False)) for row in reader if row]


def load_feeders(campaign: Campaign, base_dir: Path, file: str, text: str | None = None) -> dict[
        str, list[dict[str, str]]]:
    """Read every CSV feeder once; a missing, unreadable or empty file is a campaign error."""
    rows: dict[str, list[dict[str, str]]] = {}
    problems = []
    node = node_of(text) if text is not None else None
    for name, feeder in campaign.data.items():
        path = (base_dir / feeder.file).resolve()
        where = f"data.{name}.file"
        try:
            content = read_bounded(path, MAX_FEEDER_BYTES, str(path)).decode("utf-8-sig")
            rows[name] = read_feeder(io.StringIO(content, newline=""), feeder)
        except _Unreadable as exc:
            problems.append(Problem(file, _line_of(node, ("data", name, "file")), where, str(exc)))
            continue
        except UnicodeDecodeError as exc:
            problems.append(Problem(file, _line_of(node, ("data", name, "file")), where,
                                    f"{path} is not UTF-8 text ({exc.reason})"))
            continue
        except csv.Error as exc:
            problems.append(Problem(file, _line_of(node, ("data", name, "file")), where,
                                    f"{path} is not valid CSV: {exc}"))
            continue
        if not rows[name]:
            problems.append(Problem(file, _line_of(node, ("data", name, "file")), where, f"{path} has no data rows"))
    if problems:
        raise CampaignError(problems)
    return rows


def load_campaign(path: str | Path) -> LoadedCampaign:
    """Read, validate and hash a campaign file (and its CSV feeders).

    Only a regular file of at most :data:`MAX_FILE_BYTES` is read (a FIFO, ``/dev/zero`` or a
    directory is refused without blocking); every problem is a :class:`CampaignError`."""
    p = Path(path)
    try:
        raw = read_bounded(p, MAX_FILE_BYTES, "file")
    except _Unreadable as exc:
        raise CampaignError([Problem(str(path), None, "", str(exc))]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CampaignError([Problem(str(path), line, "", f"not UTF-8 text ({exc.reason})")]) from None
    campaign = parse_campaign(text, str(path))
    feeders = load_feeders(campaign, p.parent, str(path), text)
    loaded = LoadedCampaign(path=p.resolve(), campaign=campaign, sha256=hashlib.sha256(raw).hexdigest(),
                            text=text, feeders=feeders)
    from campaigns import preflight  # templates, functions, variables, feeder columns (no secrets)

    problems = preflight.problems(loaded, secrets=False)
    if problems:
        raise CampaignError(problems)
    return loaded


def node_of(text: str) -> yaml.Node | None:
    """The YAML node tree of a campaign's text (for line numbers); None when it does not parse."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


line_of = _line_of


def field_path(loc: tuple[Any, ...]) -> str:
    return _field_path(loc)
