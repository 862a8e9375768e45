"""A small JSONPath subset used by expectations and captures: ``$.a.b``, ``a[0].id``, ``items[*].id``,
``$['odd key']``. Enough for what Artillery's and k6's users write; no filters or recursion.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\.?([A-Za-z_$@][\w$@\-]*)|\[(\d+|\*)\]|\[['\"]([^'\"]+)['\"]\]")


class PathNotFound(KeyError):
    def __str__(self) -> str:
        return f"no value at {self.args[0]!r}"


def _tokens(path: str) -> list[str | int]:
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    out: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot read JSON path {path!r} at {text[pos:]!r}")
        name, index, quoted = m.groups()
        out.append(name if name is not None else quoted if quoted is not None else
                   ("*" if index == "*" else int(index)))
        pos = m.end()
    return out


def extract(document: Any, path: str) -> Any:
    """The value at ``path``; ``[*]`` gives a list. Raises :class:`PathNotFound`."""
    values = [document]
    wildcard = False
    for token in _tokens(path):
        nxt = []
        for value in values:
            if token == "*":
                if not isinstance(value, list):
                    raise PathNotFound(path)
                nxt.extend(value)
                wildcard = True
            elif isinstance(token, int):
                if not isinstance(value, list) or token >= len(value):
                    raise PathNotFound(path)
                nxt.append(value[token])
            else:
                if not isinstance(value, dict) or token not in value:
                    raise PathNotFound(path)
                nxt.append(value[token])
        values = nxt
    return values if wildcard else values[0]


def exists(document: Any, path: str) -> bool:
    try:
        extract(document, path)
    except (PathNotFound, ValueError):
        return False
    return True
