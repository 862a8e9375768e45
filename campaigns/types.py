"""Small value types shared by every part of a campaign file.

- ``Duration``: ``"250ms"``, ``"30s"``, ``"5m"``, ``"1h30m"`` or a bare number of seconds, parsed to
  float seconds.
- ``Slug``: kebab-case names for campaigns, environments, endpoints and scenarios.
- Secret references: ``${env:NAME}`` (an environment variable) and ``${prefect:BLOCK}`` (a Prefect
  Secret block). Literal secrets are rejected where a value is secret by nature (see
  :func:`is_secret_key`), and references are resolved only at run time by :func:`resolve_refs`.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer, field_validator

#: the longest duration a campaign may give (a 30-day soak is already past a nightly campaign)
MAX_DURATION_S = 30 * 86400.0
#: highest request or iteration rate a campaign may ask for, per second
MAX_RATE = 1_000_000.0
#: most virtual users or connections a campaign may ask for
MAX_VUS = 100_000

#: the largest whole number a campaign field takes (2**53: exact as a float and in JavaScript)
MAX_INT = 2**53

#: the configuration of every campaign model: unknown keys are errors, and ``.inf`` / ``.nan``
#: are never a number
STRICT_CONFIG = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class StrictModel(BaseModel):
    """Base of every model of the campaign file: unknown keys are errors, floats are finite, and no
    whole number is larger than :data:`MAX_INT` (YAML reads 4,000-digit integers happily)."""

    model_config = STRICT_CONFIG

    @field_validator("*", mode="after")
    @classmethod
    def _sane_number(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT <= value <= MAX_INT:
            raise ValueError(f"{str(value)[:12]}… is too large a number (at most 2**53)")
        return value

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float:
    """Seconds from ``"1h30m"``, ``"250ms"``, ``"5m"``, ``"30s"`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '30s', '5m', '1h30m'")
    if isinstance(value, (int, float)):
        seconds = float(value) if not isinstance(value, int) or abs(value) < 1e300 else math.inf
        if not math.isfinite(seconds):
            raise ValueError("a duration is a finite number of seconds")
        if seconds < 0:
            raise ValueError("a duration cannot be negative")
        if seconds > MAX_DURATION_S:
            raise ValueError(f"{format_duration(seconds) if seconds < 1e12 else repr(value)} is longer than "
                             f"the longest duration allowed ({format_duration(MAX_DURATION_S)})")
        return seconds
    if not isinstance(value, str):
        raise ValueError("a duration is a number of seconds or a string like '30s', '5m', '1h30m'")
    text = value.strip().replace(" ", "")
    if len(text) > 64:
        raise ValueError(f"{value[:40]!r}… is not a duration (use e.g. '250ms', '30s', '5m', '1h30m')")
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return parse_duration(number)
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration (use e.g. '250ms', '30s', '5m', '1h30m')")
    return parse_duration(total)


def format_duration(seconds: float) -> str:
    """The shortest readable form: ``90`` → ``"1m30s"``, ``0.25`` → ``"250ms"``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    out, rest = [], seconds
    for unit, size in (("h", 3600), ("m", 60)):
        if rest >= size:
            whole = int(rest // size)
            out.append(f"{whole}{unit}")
            rest -= whole * size
    if rest or not out:
        out.append(f"{rest:g}s")
    return "".join(out)


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration, when_used="json")]

_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"{value!r} is not a slug: use lowercase letters, digits and dashes (e.g. 'shop-api')")
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]

def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or an address in 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

REF = re.compile(r"\$\{(env|prefect):([A-Za-z_][A-Za-z0-9_.\-/]*)\}")
_SECRET_KEY = re.compile(r"(authorization|token|secret|password|passwd|api[-_]?key|cookie|credential|private[-_]?key)",
                         re.IGNORECASE)
# An Authorization value may keep its scheme literal: "Bearer ${env:TOKEN}".
_SCHEME_PREFIX = re.compile(r"^(bearer|basic|token|apikey|digest)\s+", re.IGNORECASE)


def upper_method(value: Any) -> Any:
    """HTTP methods are written in any case in campaign files: ``get`` → ``GET``."""
    return value.upper() if isinstance(value, str) else value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def no_control_characters(value: str, what: str) -> str:
    """Refuse line breaks, NUL and other control characters: on the wire they would split or end the
    request line or a header (request smuggling into the target)."""
    found = _CONTROL.search(value)
    if found:
        raise ValueError(f"{what} holds the control character U+{ord(found.group()):04X} "
                         f"(line breaks and control characters cannot be sent)")
    return value


_TEMPLATE_SPAN = re.compile(r"(\{\{.*?\}\})")


def percent_encode_non_ascii(value: str) -> str:
    """``/café`` → ``/caf%C3%A9``, ``/a b`` → ``/a%20b``: what every HTTP client sends for such a path
    (RFC 3986). ``{{ templates }}`` are left as they are (they are filled at run time)."""
    parts = _TEMPLATE_SPAN.split(value)
    return "".join(part if i % 2 else _NON_ASCII.sub(lambda m: quote(m.group(), safe=""), part).replace(" ", "%20")
                   for i, part in enumerate(parts))


def check_path(value: str) -> str:
    """A request path is relative to the environment's base URL, so it starts with '/'; control
    characters are refused and non-ASCII characters percent-encoded."""
    if not value.startswith("/"):
        raise ValueError("a path starts with '/' (the base URL comes from the environment)")
    return percent_encode_non_ascii(no_control_characters(value, "the path"))


def check_path_value(value: Any) -> Any:
    """A value filled into a path placeholder: as :func:`check_path`, for strings."""
    if isinstance(value, str):
        return percent_encode_non_ascii(no_control_characters(value, "a path parameter"))
    return value


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    """Header names are HTTP tokens; values hold no line break and fit in ISO-8859-1 (what HTTP/1.1
    carries); every header whose name says it is secret holds a reference, not a literal."""
    for key, value in headers.items():
        if not _TOKEN.match(key):
            raise ValueError(f"header name {key[:60]!r} is not an HTTP token (letters, digits and !#$%&'*+.^_`|~-)")
        no_control_characters(str(value).replace("\t", " "), f"header {key!r}")
        try:
            str(value).encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"header {key!r} holds characters HTTP headers cannot carry "
                             f"(only ISO-8859-1; percent-encode or base64 the value)") from None
        check_secret_value(key, value)
    return headers


def is_secret_key(key: str) -> bool:
    """Whether a header or setting named ``key`` carries a secret by nature."""
    return bool(_SECRET_KEY.search(key))


def check_secret_value(key: str, value: Any) -> None:
    """Raise ``ValueError`` when ``value`` under a secret-looking ``key`` is a literal secret."""
    if not isinstance(value, str) or not is_secret_key(key):
        return
    rest = _SCHEME_PREFIX.sub("", value.strip())
    if REF.sub("", rest).strip() == "" and REF.search(rest):
        return
    if "{{" in rest and "}}" in rest:  # a scenario variable captured at run time, e.g. "Bearer {{ token }}"
        return
    raise ValueError(f"{key!r} holds a literal secret: write a reference such as '${{env:NAME}}' "
                     f"or '${{prefect:block-name}}' instead")


class UnresolvedSecret(LookupError):
    """A ``${env:…}`` or ``${prefect:…}`` reference has no value at run time."""


def _from_environment(name: str) -> str:
    if name not in os.environ:
        raise UnresolvedSecret(f"environment variable {name} is not set (referenced as ${{env:{name}}})")
    return os.environ[name]


#: how each kind of reference is resolved; the flow registers ``prefect`` (Secret blocks), so
#: this module stays free of Prefect
RESOLVERS: dict[str, Callable[[str], str]] = {"env": _from_environment}


def register_resolver(kind: str, resolve: Callable[[str], str]) -> None:
    RESOLVERS[kind] = resolve


def _lookup(kind: str, name: str) -> str:
    if kind not in RESOLVERS:
        raise UnresolvedSecret(f"no resolver for ${{{kind}:{name}}}")
    return RESOLVERS[kind](name)


def resolve_refs(value: Any) -> Any:
    """Replace every secret reference in strings (recursively through dicts and lists)."""
    if isinstance(value, str):
        return REF.sub(lambda m: _lookup(m.group(1), m.group(2)), value)
    if isinstance(value, dict):
        return {k: resolve_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v) for v in value]
    return value
