"""The HTTP/1.1 framing the HTTP faults rely on: exact bytes, every way a message can end."""

from __future__ import annotations

import random

import pytest

from tasks.chaos.http11 import FramingError, RequestFramer, ResponseFramer, looks_like_request_start

REQUESTS = (b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            b"\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
            b"GET /d HTTP/1.1\r\n\r\n")


def messages(segments):
    out, current = [], None
    for seg in segments:
        if seg.head is not None:
            current = [seg.head, b""]
        current[1] += seg.data
        if seg.end:
            out.append((current[0], current[1]))
            current = None
    return out


@pytest.mark.parametrize("seed", range(25))
def test_requests_split_anywhere_come_out_byte_for_byte_one_message_each(seed):
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(REQUESTS)), rng.randint(0, 12)))
    framer = RequestFramer()
    segments = [s for a, b in zip([0, *cuts], [*cuts, len(REQUESTS)]) for s in framer.feed(REQUESTS[a:b])]
    assert b"".join(s.data for s in segments) == REQUESTS
    found = messages(segments)
    assert [h.target for h, _ in found] == ["/a", "/b", "/c", "/d"]
    assert [h.method for h, _ in found] == ["GET", "POST", "POST", "GET"]
    assert found[1][1].endswith(b"hello") and found[2][1].endswith(b"0\r\nT: 1\r\n\r\n")
    assert framer.idle


def test_a_big_message_in_one_chunk():
    body = b"z" * 100_000
    data = b"POST /e HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + body + b"GET /f HTTP/1.1\r\n\r\n"
    found = messages(RequestFramer().feed(data))
    assert [(h.target, len(raw)) for h, raw in found] == [("/e", 100_044), ("/f", 19)]


def test_a_head_is_held_back_until_it_is_complete():
    framer = RequestFramer()
    assert framer.feed(b"GET /a HTTP/1.1\r\nHo") == []
    (seg,) = framer.feed(b"st: x\r\n\r\n")
    assert seg.head.target == "/a" and seg.end and seg.data == b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"


def test_responses_head_1xx_204_chunked_and_until_close():
    data = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"          # the answer to a HEAD: no body
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
            b"HTTP/1.1 204 No Content\r\n\r\n"
            b"HTTP/1.1 200 OK\r\n\r\nread until the connection closes")
    methods = iter(["GET", "HEAD", "GET", "GET"])
    framer = ResponseFramer(lambda: next(methods))
    segments = framer.feed(data)
    assert b"".join(s.data for s in segments) == data
    assert [s.head.status for s in segments if s.head] == [100, 200, 200, 200, 204, 200]
    assert sum(s.end for s in segments) == 5
    assert framer.close().end


def test_garbage_is_a_framing_error_and_a_request_start_is_recognised():
    with pytest.raises(FramingError):
        RequestFramer().feed(b"\x16\x03\x01 not http\r\n\r\n")
    assert looks_like_request_start(b"GET / HTTP/1.1\r\nHost: x\r\n")
    assert not looks_like_request_start(b"abc\r\n") and not looks_like_request_start(b"GET / HTTP/1.1")
