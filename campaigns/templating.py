"""``{{ name }}`` templates in requests, shared by every stage that sends one.

Variables come from the campaign's ``variables``, its CSV feeders and values captured from earlier
responses (``{{ token }}``, ``{{ user.email }}``). Two built-ins: ``{{ $randomInt(1, 100) }}`` and
``{{ $uuid() }}`` (Artillery's ``$randomString()`` too). A missing variable is an error, never an
empty string, so a broken capture shows up where it happened.

Path placeholders (``/api/products/{id}``) are a separate, single-brace syntax filled from an
endpoint's ``params``; :func:`fill_path` handles them.
"""

from __future__ import annotations

import random
import re
import string
import uuid
from typing import Any

TEMPLATE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
_CALL = re.compile(r"^\$(\w+)\((.*)\)$")


class MissingVariable(KeyError):
    """A template names a variable that has no value."""

    def __str__(self) -> str:
        return f"template variable {self.args[0]!r} has no value"


def _builtin(name: str, args: str, rng: random.Random) -> Any:
    parts = [a.strip().strip("'\"") for a in args.split(",") if a.strip()]
    if name == "randomInt":
        lo, hi = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, 1_000_000)
        return rng.randint(lo, hi)
    if name == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if name == "randomString":
        size = int(parts[0]) if parts else 8
        return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(size))
    raise MissingVariable(f"${name}()")


def lookup(variables: dict[str, Any], expr: str, rng: random.Random | None = None) -> Any:
    """The value of ``expr`` (``name``, ``a.b.c``, ``items[0].id`` or a ``$builtin()``)."""
    call = _CALL.match(expr)
    if call:
        return _builtin(call.group(1), call.group(2), rng or random)  # type: ignore[arg-type]
    value: Any = variables
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", expr):
        try:
            if token.startswith("["):
                value = value[int(token[1:-1])]
            elif isinstance(value, dict):
                value = value[token]
            else:
                raise KeyError(token)
        except (KeyError, IndexError, TypeError):
            raise MissingVariable(expr) from None
    return value


def render(value: Any, variables: dict[str, Any], rng: random.Random | None = None) -> Any:
    """Render templates recursively. A string that is exactly one template keeps the value's type."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        whole = TEMPLATE.fullmatch(value.strip())
        if whole:
            return lookup(variables, whole.group(1), rng)
        return TEMPLATE.sub(lambda m: str(lookup(variables, m.group(1), rng)), value)
    if isinstance(value, dict):
        return {k: render(v, variables, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables, rng) for v in value]
    return value


def placeholders(path: str) -> list[str]:
    """The ``{name}`` placeholders of a path, in order."""
    return PLACEHOLDER.findall(path)


def fill_path(path: str, values: dict[str, Any]) -> str:
    """Fill ``{name}`` placeholders; a missing one is an error."""
    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise MissingVariable(m.group(1))
        return str(values[m.group(1)])

    return PLACEHOLDER.sub(sub, path)


def has_template(value: Any) -> bool:
    """Whether ``value`` (recursively) holds a ``{{ }}`` template."""
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return False
