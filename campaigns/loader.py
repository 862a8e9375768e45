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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

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


class _Loader(yaml.SafeLoader):
    pass


def _compose(text: str, file: str) -> tuple[yaml.Node | None, list[Problem]]:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return None, [Problem(file, line, "", f"invalid YAML: {exc.problem or exc}")]
    problems: list[Problem] = []
    _find_duplicates(node, file, "", problems)
    return node, problems


def _find_duplicates(node: yaml.Node | None, file: str, path: str, out: list[Problem]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            where = f"{path}.{name}" if path else name
            if name in seen:
                out.append(Problem(file, key.start_mark.line + 1, where, "key appears twice"))
            seen.add(name)
            _find_duplicates(value, file, where, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _find_duplicates(item, file, f"{path}[{i}]", out)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line (1-based) of the deepest key or item along ``loc`` that the file has."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if match is None:
                continue  # '[key]' or a pydantic union branch such as 'list[int]'
            key, node = match
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
    return line


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        elif "[" in str(part) or str(part).startswith(("function-", "literal[")):
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
    """Validate campaign YAML text; raise :class:`CampaignError` listing every problem."""
    node, problems = _compose(text, file)
    if node is None and not problems:
        problems = [Problem(file, 1, "", "the file is empty")]
    if problems:
        raise CampaignError(problems)
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict):
        raise CampaignError([Problem(file, 1, "", "a campaign file is a YAML mapping (campaign:, environments:, …)")])
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        seen: set[tuple[int | None, str, str]] = set()
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            problem = Problem(file, _line_of(node, loc), _field_path(loc), _message(err))
            key = (problem.line, problem.field, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
        raise CampaignError(problems) from None


def load_feeders(campaign: Campaign, base_dir: Path, file: str) -> dict[str, list[dict[str, str]]]:
    """Read every CSV feeder once; a missing or empty file is a campaign error."""
    rows: dict[str, list[dict[str, str]]] = {}
    problems = []
    for name, feeder in campaign.data.items():
        path = (base_dir / feeder.file).resolve()
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                rows[name] = list(csv.DictReader(fh))
        except OSError as exc:
            problems.append(Problem(file, None, f"data.{name}.file", f"cannot read {path}: {exc.strerror}"))
            continue
        if not rows[name]:
            problems.append(Problem(file, None, f"data.{name}.file", f"{path} has no data rows"))
    if problems:
        raise CampaignError(problems)
    return rows


def load_campaign(path: str | Path) -> LoadedCampaign:
    """Read, validate and hash a campaign file (and its CSV feeders)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise CampaignError([Problem(str(path), None, "", f"cannot read file: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CampaignError([Problem(str(path), None, "", f"not UTF-8 text ({exc.reason})")]) from None
    campaign = parse_campaign(text, str(path))
    feeders = load_feeders(campaign, p.parent, str(path))
    return LoadedCampaign(path=p.resolve(), campaign=campaign, sha256=hashlib.sha256(raw).hexdigest(),
                          text=text, feeders=feeders)
