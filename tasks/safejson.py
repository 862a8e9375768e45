"""JSON a target sent, parsed so that no body can hurt the run.

``json.loads`` alone lets a target crash the code that reads its answer:

- ``[[[[…`` two hundred thousand deep raises ``RecursionError`` (not a ``ValueError``), and a
  document a few hundred levels deep parses but overflows the stack of whatever walks it next;
- an integer of 5,000 digits raises a ``ValueError`` that is not a ``JSONDecodeError``;
- ``"\\ud800"`` parses into a string that cannot be encoded again (``UnicodeEncodeError`` when it
  is echoed in a request body, stored, or printed).

:func:`loads` turns the first two into :class:`json.JSONDecodeError` (a ``ValueError``: every
caller already treats that as "not JSON") and replaces lone surrogates with U+FFFD.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: deeper than any real API nests; deep enough that our own walkers never run out of stack
MAX_DEPTH = 100
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
#: after parsing, a valid pair is one character: any surrogate left is a lone one
_SURROGATE = re.compile("[\ud800-\udfff]")


def loads(data: bytes | bytearray | str) -> Any:
    """``json.loads`` for untrusted bodies: raises ``json.JSONDecodeError`` on anything unusable."""
    try:
        value = json.loads(data)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("JSON nested too deep to parse", _text(data), 0) from None
    except ValueError as exc:  # UnicodeDecodeError, "Exceeds the limit (4300 digits)…"
        raise json.JSONDecodeError(str(exc).splitlines()[0][:200], _text(data), 0) from None
    if isinstance(value, (dict, list)):
        if depth_over(value, MAX_DEPTH):
            raise json.JSONDecodeError(f"JSON nested deeper than {MAX_DEPTH} levels", _text(data), 0)
        escapes = _SURROGATE_ESCAPE if isinstance(data, str) else _SURROGATE_ESCAPE_BYTES
        if escapes.search(data):
            value = _clean(value)
    elif isinstance(value, str) and _has_lone_surrogate(value):
        value = _fix(value)
    return value


def depth_over(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than ``limit`` (iterative: no recursion on the target's data)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def _clean(value: Any) -> Any:
    """A copy with every lone surrogate (in keys and strings) replaced; depth is already bounded."""
    if isinstance(value, dict):
        return {(_fix(k) if _has_lone_surrogate(k) else k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and _has_lone_surrogate(value):
        return _fix(value)
    return value


def _has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _fix(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


def _text(data: bytes | bytearray | str) -> str:
    return data if isinstance(data, str) else ""
