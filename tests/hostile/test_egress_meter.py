"""The egress guard's response meter: wire bytes and inflated bytes (gzip, deflate, br; chunked or
not) count against the cap, so a gzip bomb is cut like the body it inflates to."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from tasks.e2e.egress import ResponseMeter
from tests.hostile.servers import gzip_bomb

CAP = 8 << 20


def feed(meter: ResponseMeter, data: bytes, step: int = 65536) -> bool:
    return any(meter.feed(data[i:i + step]) for i in range(0, len(data), step))


def chunk(body: bytes, size: int) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


def test_a_gzip_bomb_is_cut_soon_after_the_cap_whatever_its_framing():
    bomb = gzip_bomb()
    plain = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb
    meter = ResponseMeter(CAP)
    assert feed(meter, plain) and meter.inflated < CAP + (2 << 20) and meter.wire < len(plain)
    chunked = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(bomb, 4096)
    assert feed(ResponseMeter(CAP), chunked, step=5000)


@pytest.mark.parametrize("encoding, body", [
    ("gzip", gzip.compress(b"x" * 200_000)), ("deflate", zlib.compress(b"x" * 200_000)),
    ("br", brotli.compress(b"x" * 200_000)), ("identity", b"x" * 200_000)])
def test_an_ordinary_compressed_page_passes(encoding, body):
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    meter = ResponseMeter(CAP)
    assert not feed(meter, head + chunk(body, 1000), step=777)
    assert meter.inflated in (200_000, 0) and meter.wire > len(body)


def test_a_brotli_bomb_and_a_plain_endless_body_are_cut():
    assert feed(ResponseMeter(CAP), b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n" + brotli.compress(b"\0" * (64 << 20)))
    endless = ResponseMeter(CAP)
    assert any(endless.feed(b"x" * 65536) for _ in range(CAP // 65536 + 2))


def test_a_body_that_does_not_decode_falls_back_to_the_wire_count():
    meter = ResponseMeter(CAP)
    assert not feed(meter, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + b"not gzip at all" * 100)
    assert meter.decoder is None


def test_a_brotli_bomb_is_metered_in_bounded_steps():
    """``Decompressor.process`` without a limit inflated a whole 64 KiB slice of a 512 MiB bomb at once
    in the guard's memory; it now decodes 1 MiB at a time and stops past the cap."""
    import resource

    from tests.hostile.servers import brotli_bomb

    bomb = brotli_bomb()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert feed(ResponseMeter(CAP), b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n" + bomb)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"the guard grew by {grown_mb:.0f} MB metering a brotli bomb"
