"""Request bodies other than JSON, encoded once when the campaign loads: every stage and both load
engines then send the same bytes (a ``str`` body goes out as it is, with its ``Content-Type``).

``{{ }}`` templates survive the encoding as written, so they render at run time like any other; a
value a template produces is inserted as it is (not URL-encoded).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from campaigns.templating import TEMPLATE

#: a fixed boundary: bodies are reproducible (and diffable) between runs
BOUNDARY = "perfcampaign-form-boundary-7d3f9a"


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _quote(text: str) -> str:
    """URL-encode ``text`` except its ``{{ }}`` templates, which render later."""
    out, pos = [], 0
    for m in TEMPLATE.finditer(text):
        out += [quote(text[pos:m.start()], safe=""), m.group(0)]
        pos = m.end()
    out.append(quote(text[pos:], safe=""))
    return "".join(out)


def encode_form(fields: dict[str, Any]) -> tuple[str, str]:
    """``application/x-www-form-urlencoded`` text (lists repeat the key) and its content type."""
    parts = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(f"{_quote(str(key))}={_quote(_text(item))}")
    return "&".join(parts), "application/x-www-form-urlencoded"


def encode_multipart(fields: dict[str, Any]) -> tuple[str, str]:
    """``multipart/form-data`` text and its content type (with the boundary)."""
    lines = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:  # a list repeats the field
            lines.append(f"--{BOUNDARY}")
            if hasattr(item, "filename"):
                lines.append(f'Content-Disposition: form-data; name="{key}"; filename="{item.filename}"')
                lines.append(f"Content-Type: {item.content_type}")
                lines += ["", item.content]
            else:
                lines.append(f'Content-Disposition: form-data; name="{key}"')
                lines += ["", _text(item)]
    lines += [f"--{BOUNDARY}--", ""]
    return "\r\n".join(lines), f"multipart/form-data; boundary={BOUNDARY}"
