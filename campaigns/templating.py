"""``{{ name }}`` templates in requests, shared by every stage that sends one.

Variables come from the campaign's ``variables``, its CSV feeders and values captured from earlier
responses (``{{ token }}``, ``{{ user.email }}``). ``{{ $env.NAME }}`` reads an environment variable
(an error when it is not set). Built-in functions (:data:`BUILTINS`; the parentheses are optional
without arguments, ``{{ $timestamp }}``):

    $randomInt(1, 100)  $randomNumber(1, 100)   an integer in [1, 100] (Artillery's $randomNumber)
    $randomString(8)                            8 random letters and digits (default 10)
    $uuid()                                     a random UUID 4
    $timestamp()  $isoTimestamp()               milliseconds since the epoch; UTC ISO 8601 text
    $randomEmail()                              a unique-looking address at example.com
    $randomFromArray(a, b, c)                   one of the arguments (or of a list variable's items)
    $randomBoolean()                            true or false
    $randEmail() $randFirstName() $randLastName() $randFullName() $randUserName() $randWord()
    $randPhoneNumber() $randPassword() $randUuid() $randNumber() $randBoolean() $randUrl()
                                                Artillery's fake-data plugin names (synthetic values)

A missing variable or an unknown function is an error, never an empty string, so a broken capture
shows up where it happened (and ``campaigns.preflight`` finds the ones a file can show before the
run starts).

Path placeholders (``/api/products/{id}``) are a separate, single-brace syntax filled from an
endpoint's ``params``; :func:`fill_path` handles them.
"""

from __future__ import annotations

import os
import random
import re
import string
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

TEMPLATE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
_CALL = re.compile(r"^\$(\w+)\s*(?:\(([^()]*)\))?$")
ENV_PREFIX = "$env."


class MissingVariable(KeyError):
    """A template names a variable that has no value (or a function that does not exist)."""

    def __str__(self) -> str:
        name = str(self.args[0])
        if name.startswith(ENV_PREFIX):
            return f"environment variable {name[len(ENV_PREFIX):]} is not set (referenced as {{{{ {name} }}}})"
        if name.startswith("$"):
            return f"{name} is not a template function (known: {', '.join('$' + n for n in sorted(BUILTINS))})"
        return f"template variable {name!r} has no value"


class TemplateError(MissingVariable):
    """A template that cannot be rendered: a function called with arguments it cannot use, or text
    that is not a template expression. A ``MissingVariable`` so every caller that handles one (the
    request fails with a ``template`` error) handles this too."""

    def __str__(self) -> str:
        return str(self.args[0])


_ALNUM = string.ascii_letters + string.digits
_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Linus", "Margaret", "Ken")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Torvalds", "Hamilton", "Thompson")
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")


def _ints(parts: list[str], lo: int = 0, hi: int = 1_000_000) -> tuple[int, int]:
    return (int(float(parts[0])), int(float(parts[1]))) if len(parts) >= 2 else (lo, hi)


def _choice(parts: list[str], variables: dict[str, Any], rng: random.Random) -> Any:
    if len(parts) == 1 and isinstance(variables.get(parts[0]), list) and variables[parts[0]]:
        return rng.choice(variables[parts[0]])
    if not parts:
        raise MissingVariable("$randomFromArray() needs arguments")
    return rng.choice(parts)


def _email(rng: random.Random) -> str:
    return f"user-{''.join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(10))}@example.com"


_Fn = Callable[[list[str], dict[str, Any], random.Random], Any]
#: template functions by name (without the ``$``); each is also written in tasks/k6/runtime.js
BUILTINS: dict[str, _Fn] = {
    "randomInt": lambda p, v, r: r.randint(*_ints(p)),
    "randomNumber": lambda p, v, r: r.randint(*_ints(p)),
    "randomString": lambda p, v, r: "".join(r.choice(_ALNUM) for _ in range(int(p[0]) if p else 10)),
    "uuid": lambda p, v, r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "timestamp": lambda p, v, r: int(time.time() * 1000),
    "isoTimestamp": lambda p, v, r: datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    "randomEmail": lambda p, v, r: _email(r),
    "randomFromArray": _choice,
    "randomBoolean": lambda p, v, r: r.random() < 0.5,
    # Artillery's fake-data plugin (synthetic values only)
    "randEmail": lambda p, v, r: _email(r),
    "randFirstName": lambda p, v, r: r.choice(_FIRST),
    "randLastName": lambda p, v, r: r.choice(_LAST),
    "randFullName": lambda p, v, r: f"{r.choice(_FIRST)} {r.choice(_LAST)}",
    "randUserName": lambda p, v, r: f"{r.choice(_FIRST).lower()}{r.randint(1, 9999)}",
    "randWord": lambda p, v, r: r.choice(_WORDS),
    "randPhoneNumber": lambda p, v, r: f"+1-555-{r.randint(100, 999)}-{r.randint(1000, 9999)}",
    "randPassword": lambda p, v, r: "".join(r.choice(_ALNUM) for _ in range(16)),
    "randUuid": lambda p, v, r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "randNumber": lambda p, v, r: r.randint(*_ints(p, 0, 99_999)),
    "randBoolean": lambda p, v, r: r.random() < 0.5,
    "randUrl": lambda p, v, r: f"https://example.com/{r.choice(_WORDS)}",
}


def split_args(args: str) -> list[str]:
    return [a.strip().strip("'\"") for a in args.split(",") if a.strip()]


def is_builtin_call(expr: str) -> bool:
    """Whether ``expr`` calls a template function (``$name(…)`` or ``$name``), known or not."""
    return bool(_CALL.match(expr.strip())) and not expr.strip().startswith(ENV_PREFIX)


def function_name(expr: str) -> str | None:
    call = _CALL.match(expr.strip())
    return call.group(1) if call and not expr.strip().startswith(ENV_PREFIX) else None


def lookup(variables: dict[str, Any], expr: str, rng: random.Random | None = None) -> Any:
    """The value of ``expr`` (``name``, ``a.b.c``, ``items[0].id``, ``$env.NAME`` or a ``$builtin()``)."""
    if expr.startswith(ENV_PREFIX):
        name = expr[len(ENV_PREFIX):].strip()
        if name not in os.environ:
            raise MissingVariable(expr)
        return os.environ[name]
    if expr.startswith("$"):
        call = _CALL.match(expr)
        if call and call.group(1) in BUILTINS:
            try:
                return BUILTINS[call.group(1)](split_args(call.group(2) or ""), variables,
                                               rng or random)  # type: ignore[arg-type]
            except (ValueError, TypeError, IndexError) as exc:
                raise TemplateError(f"{{{{ {expr} }}}}: ${call.group(1)} cannot use these arguments ({exc})") from None
        if call and call.group(1) not in variables and ("$" + call.group(1)) not in variables:
            raise MissingVariable(f"${call.group(1)}")
        if call is None and "(" in expr:
            raise TemplateError(f"{{{{ {expr} }}}} is not a template expression (a variable, a.b.c, or "
                                f"$function(arguments))")
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
