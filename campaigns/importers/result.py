"""What an importer returns, how its names are made, and how the campaign is written as YAML.

An importer never writes files: it returns the campaign as a plain dict, the notes a person
should read (what has no equivalent, what was guessed), and ``files`` — side files named relative
to the campaign file (a CSV feeder, a response-schema file) — for the CLI to write next to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml


class SourceError(ValueError):
    """A source file that cannot be imported; ``problems`` holds every mistake found, each naming
    the file and where in it (a JSON pointer or a key path)."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class ImportResult:
    campaign: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    #: side files, by name relative to the campaign file → text
    files: dict[str, str] = field(default_factory=dict)
    source: str = ""
    #: endpoint name → (method, path) as derived from the source (for reports and --check)
    origins: dict[str, tuple[str, str]] = field(default_factory=dict)

    def yaml(self) -> str:
        header = [f"Imported from {self.source} by perfcampaign." if self.source else "Imported by perfcampaign."]
        if self.notes:
            header.append("What did not convert, or was guessed:")
            header += [f"  - {n}" for n in self.notes]
        return dump_campaign(self.campaign, header)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def slug(text: str, fallback: str = "item") -> str:
    """A kebab-case slug: ``"Core API Flow"`` → ``core-api-flow``, ``listProducts`` → ``list-products``."""
    words = _CAMEL.sub("-", str(text))
    out = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
    return out or fallback


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``… when it is taken; the result is added to ``taken``."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


def var_name(text: str) -> str:
    """A template variable name (letters, digits, '_')."""
    out = re.sub(r"\W+", "_", str(text)).strip("_")
    return out if out and not out[0].isdigit() else f"v_{out}"


class SourceLoader(yaml.SafeLoader):
    """YAML as JSON sees it: ``2024-01-01`` stays a string (specs and scripts mean text there)."""


SourceLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_source(text: str) -> Any:
    return yaml.load(text, Loader=SourceLoader)  # noqa: S506 - a SafeLoader subclass


def scalarish(value: Any) -> Any:
    """A value a query or path parameter can hold (a scalar, or a list of scalars); anything
    else becomes its JSON text."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value):
        return value
    import json

    return json.dumps(value, separators=(",", ":"), default=str)


class _Flow(dict):
    """A mapping written on one line: ``{status: [200]}``."""


class _FlowList(list):
    pass


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _shape(value: Any, depth: int = 0) -> Any:
    """Small leaf mappings and scalar lists in flow style; the rest in block style."""
    if isinstance(value, dict):
        inner = {k: _shape(v, depth + 1) for k, v in value.items()}
        small = len(value) <= 6 and all(_scalar(v) or (isinstance(v, list) and all(map(_scalar, v)) and len(v) <= 8)
                                        for v in value.values())
        text = repr(value)
        return _Flow(inner) if depth >= 2 and small and len(text) <= 90 else inner
    if isinstance(value, list):
        items = [_shape(v, depth + 1) for v in value]
        return _FlowList(items) if value and all(map(_scalar, value)) and len(repr(value)) <= 90 else items
    return value


_Dumper.add_representer(_Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                                                  flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data,
                                                                       flow_style=True))


def dump_campaign(campaign: dict[str, Any], header: list[str] | None = None) -> str:
    """The campaign as YAML (keys in the given order), with ``header`` lines as comments on top."""
    body = yaml.dump(_shape(campaign), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110,
                     default_flow_style=False)
    top = "".join(f"# {line}\n" if line else "#\n" for line in (header or []))
    # a blank line between top-level sections, as people write them
    body = re.sub(r"\n(?=[a-z_]+:\n)", "\n\n", body)
    return top + body
