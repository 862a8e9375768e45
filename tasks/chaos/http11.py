"""Just enough HTTP/1.1 to find message boundaries in a byte stream, for the HTTP-level faults.

The proxy forwards bytes untouched; only while an HTTP fault (``http_error``, ``http_delay``) is
active on a connection does it run these framers, which split the stream into messages without
changing a byte: a head (request or status line and headers, up to the blank line) and a body
framed by ``Content-Length``, ``Transfer-Encoding: chunked``, or — responses only — the end of
the connection. Responses to ``HEAD``, ``1xx``, ``204`` and ``304`` have no body; a ``101``
(protocol switch) ends framing for good.

:meth:`Framer.feed` returns :class:`Segment` s: consecutive slices of the input, each belonging to
one message, the first slice of a message carrying its parsed head and the last one ``end=True``.
The slices joined are the input, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024
MAX_LINE = 8 * 1024
UNTIL_CLOSE = -1


class FramingError(ValueError):
    """The stream is not HTTP/1.1 this framer can follow (the proxy then passes it through raw)."""


@dataclass
class Head:
    """A request line (``method``, ``target``) or a status line (``status``), plus headers."""

    start_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    method: str = ""
    target: str = ""
    status: int = 0
    version: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass
class Segment:
    data: bytes
    head: Head | None = None     # set on a message's first segment
    end: bool = False            # the message ends with this segment


def parse_head(raw: bytes, response: bool) -> Head:
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
        raise FramingError(str(exc)) from None
    lines = text.split("\r\n")
    start = lines[0]
    parts = start.split(" ", 2)
    head = Head(start_line=start)
    if response:
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise FramingError(f"not an HTTP/1.x status line: {start[:80]!r}")
        head.version, head.status = parts[0], int(parts[1])
    else:
        if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[0].isalpha():
            raise FramingError(f"not an HTTP/1.x request line: {start[:80]!r}")
        head.method, head.target, head.version = parts[0].upper(), parts[1], parts[2]
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise FramingError(f"malformed header line: {line[:80]!r}")
        head.headers.append((name, value.strip()))
    return head


def looks_like_request_start(data: bytes) -> bool:
    """Whether ``data`` begins with an HTTP/1.x request line (where framing may start mid-connection)."""
    end = data.find(b"\r\n", 0, MAX_LINE)
    if end < 0:
        return False
    parts = data[:end].split(b" ")
    return len(parts) == 3 and parts[0].isalpha() and parts[0].isupper() and parts[2].startswith(b"HTTP/1.")


class Framer:
    """Incremental splitter of one direction of an HTTP/1.1 connection into messages."""

    response = False

    def __init__(self) -> None:
        self._head_buf = b""
        self._state = "head"          # head | length | chunk-size | chunk-data | chunk-crlf | trailer | raw
        self._remaining = 0
        self._line = b""
        self._head: Head | None = None
        self.upgraded = False

    @property
    def idle(self) -> bool:
        """Between messages: nothing of a message has been seen yet."""
        return self._state == "head" and not self._head_buf

    def _body_mode(self, head: Head) -> tuple[str, int]:
        te = (head.header("transfer-encoding") or "").lower()
        if te and te.split(",")[-1].strip() == "chunked":
            return "chunk-size", 0
        length = head.header("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                raise FramingError(f"bad Content-Length {length!r}") from None
            if n < 0:
                raise FramingError(f"bad Content-Length {length!r}")
            return ("length", n) if n else ("done", 0)
        return "done", 0

    def feed(self, data: bytes) -> list[Segment]:
        """Split ``data`` into per-message segments.

        A head that is not complete yet is held back (its bytes come out with the segment that
        carries the parsed head, once the blank line arrives), so a caller always knows which
        message a byte belongs to before forwarding it.
        """
        out: list[Segment] = []
        parts: list[bytes] = []
        seg_head: Head | None = None
        pos, n = 0, len(data)

        def flush(end: bool) -> None:
            nonlocal parts, seg_head
            if parts or end or seg_head is not None:
                out.append(Segment(b"".join(parts), seg_head, end))
            parts, seg_head = [], None

        while pos < n:
            state = self._state
            if state in ("raw", "until-close"):
                parts.append(data[pos:])
                pos = n
                break
            if state == "head":
                if self.upgraded:
                    self._state = "raw"
                    continue
                held = self._head_buf
                buf = held + data[pos:] if held else data[pos:]
                # blank lines before a message (RFC 9112 2.2) are kept with it but not parsed
                prefix = bytes(buf[:MAX_LINE])
                lead = len(prefix) - len(prefix.lstrip(b"\r\n"))
                idx = buf.find(b"\r\n\r\n", max(lead, len(held) - 3)) if lead < len(buf) else -1
                if idx < 0:
                    if len(buf) > MAX_HEAD:
                        raise FramingError("message head larger than 64 KiB")
                    self._head_buf = bytes(buf)
                    pos = n
                    break
                head = parse_head(bytes(buf[:idx]).lstrip(b"\r\n"), self.response)
                flush(False)
                parts.append(bytes(buf[:idx + 4]))
                seg_head = head
                pos += idx + 4 - len(held)
                self._head_buf = b""
                self._head = head
                mode, count = self._body_mode(head)
                if mode == "done":
                    flush(True)
                else:
                    self._state, self._remaining = mode, count
                continue
            if state in ("length", "chunk-data", "chunk-crlf"):
                take = min(self._remaining, n - pos)
                parts.append(data[pos:pos + take])
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    if state == "length":
                        self._state = "head"
                        flush(True)
                    elif state == "chunk-data":
                        self._state, self._remaining = "chunk-crlf", 2
                    else:
                        self._state = "chunk-size"
                continue
            # chunk-size or trailer: one line
            idx = data.find(b"\n", pos)
            stop = n if idx < 0 else idx + 1
            parts.append(data[pos:stop])
            if idx < 0:
                self._line += data[pos:]
                if len(self._line) > MAX_LINE:
                    raise FramingError("chunk-size or trailer line too long")
                pos = n
                break
            line = (self._line + data[pos:stop]).rstrip(b"\r\n")
            self._line = b""
            pos = stop
            if state == "chunk-size":
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise FramingError(f"bad chunk size {size_text[:20]!r}") from None
                if size == 0:
                    self._state = "trailer"
                else:
                    self._state, self._remaining = "chunk-data", size
            elif not line:  # the blank line after the trailers ends the message
                self._state = "head"
                flush(True)
        if parts or seg_head is not None:
            flush(False)
        return out


class RequestFramer(Framer):
    response = False


class ResponseFramer(Framer):
    """Frames responses; ``method_of_next()`` tells which request method the next response answers."""

    response = True

    def __init__(self, method_of_next: Callable[[], str] = lambda: "GET") -> None:
        super().__init__()
        self.method_of_next = method_of_next

    def _body_mode(self, head: Head) -> tuple[str, int]:
        status = head.status
        if status == 101:
            self.upgraded = True
            return "done", 0
        if 100 <= status < 200 or status in (204, 304) or self.method_of_next() == "HEAD":
            return "done", 0
        mode, count = super()._body_mode(head)
        if mode == "done" and head.header("content-length") is None:
            return "until-close", UNTIL_CLOSE
        return mode, count

    def close(self) -> Segment | None:
        """The connection ended: a body read until close is complete now."""
        if self._state == "until-close":
            self._state = "head"
            return Segment(b"", None, True)
        return None


def is_informational(head: Head) -> bool:
    """A 1xx other than 101: it does not answer the request (the real response follows)."""
    return 100 <= head.status < 200 and head.status != 101
