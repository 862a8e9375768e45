"""A proxied connection: the client's socket, the upstream socket, and the fault state between them.

``_Side.data_received`` is the proxy's hot path: ``if self.fast and not proxy.faults:
peer.write(data)``. Everything else — faults' verdicts, lanes, HTTP framing for the HTTP faults,
resets, blackholes, closes — lives on :class:`Link` and runs only on the slow path.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from tasks.chaos.faults.base import DOWN, RESET, UP, Answer, Blackhole, Fault, Throttle
from tasks.chaos.http11 import FramingError, RequestFramer, ResponseFramer, is_informational, looks_like_request_start
from tasks.chaos.lane import CLOSE, EOF, Lane

if TYPE_CHECKING:  # pragma: no cover
    from tasks.chaos.proxy import FaultProxy


def _rst(transport: asyncio.BaseTransport | None) -> None:
    """Abort with a TCP RST (SO_LINGER 0), not a FIN."""
    if transport is None or transport.is_closing():
        if transport is not None:
            transport.abort()
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


class _Side(asyncio.Protocol):
    """One socket of a link. ``fast`` and ``peer`` are kept up to date by the link."""

    __slots__ = ("proxy", "link", "direction", "fast", "peer", "transport")

    def __init__(self, proxy: FaultProxy, direction: str, link: Link | None = None):
        self.proxy = proxy
        self.link = link
        self.direction = direction      # the direction of the bytes this side reads
        self.fast = False
        self.peer: asyncio.Transport | None = None
        self.transport: asyncio.Transport | None = None

    def data_received(self, data: bytes) -> None:
        if self.fast and not self.proxy.faults:
            self.peer.write(data)  # type: ignore[union-attr]
        else:
            self.link.on_data(self.direction, data)  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        return self.link.on_eof(self.direction)  # type: ignore[union-attr]

    def pause_writing(self) -> None:
        # this side's write buffer is full: stop reading the other side
        self.link.pause_source(UP if self.direction == DOWN else DOWN, "buffer")  # type: ignore[union-attr]

    def resume_writing(self) -> None:
        self.link.resume_source(UP if self.direction == DOWN else DOWN, "buffer")  # type: ignore[union-attr]


class _ClientSide(_Side):
    def __init__(self, proxy: FaultProxy):
        super().__init__(proxy, UP)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.link = Link(self.proxy, self)
        self.link.accept()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.link is not None:
            self.link.on_lost(UP, exc)


class _UpstreamSide(_Side):
    def __init__(self, proxy: FaultProxy, link: Link):
        super().__init__(proxy, DOWN, link)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.on_lost(DOWN, exc)  # type: ignore[union-attr]


class Link:
    """A client connection and its upstream connection, with the per-connection fault state."""

    def __init__(self, proxy: FaultProxy, client: _ClientSide):
        self.proxy = proxy
        self.loop = proxy.loop
        self.client = client
        self.upstream: _UpstreamSide | None = None
        self.lanes = {UP: Lane(self, UP), DOWN: Lane(self, DOWN)}
        self.memo: dict[str, bool] = {}
        self.blackholed_by: str | None = None
        self.closed = False
        self.gone = {UP: False, DOWN: False}     # the side that reads this direction has closed
        self.paused: dict[str, set[str]] = {UP: set(), DOWN: set()}
        self.fresh = True                        # nothing has been read from the client yet
        # HTTP framing (only while an HTTP fault is active, or answers are still pending)
        self.http_ok = True
        self.req_framer: RequestFramer | None = None
        self.resp_framer: ResponseFramer | None = None
        self.order: deque[str | Answer] = deque()
        self.answering: Answer | None = None     # the current request is being answered (swallowed)
        self.extra_delay = 0.0                   # the current request's http_delay
        self.resp_head: Any = None

    # -- lifecycle -------------------------------------------------------------------------------
    def accept(self) -> None:
        proxy = self.proxy
        proxy.links.add(self)
        proxy.counters["accepted"] += 1
        for fault in proxy.faults:
            verdict = fault.on_accept(self)
            if verdict is RESET:
                fault.hits += 1
                self.reset()
                return
            if isinstance(verdict, Blackhole):
                fault.hits += 1
                self.blackhole(fault, verdict)
                return
        self._connecting = self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        proxy = self.proxy
        try:
            _, side = await asyncio.wait_for(
                self.loop.create_connection(lambda: _UpstreamSide(proxy, self), *proxy.upstream),
                proxy.connect_timeout)
        except (OSError, asyncio.TimeoutError):
            proxy.counters["upstream_failed"] += 1
            self.reset()
            return
        if self.closed:
            side.transport.abort()  # type: ignore[union-attr]
            return
        self.upstream = side  # type: ignore[assignment]
        self.client.peer = side.transport  # type: ignore[union-attr]
        side.peer = self.client.transport
        lane = self.lanes[UP]
        lane.blocked = False
        if self.paused[DOWN]:
            side.transport.pause_reading()  # type: ignore[union-attr]
        if lane.queue:
            lane.arm()
        else:
            self.settle()

    def settle(self) -> None:
        """Back to the fast path when nothing is queued, framed or held on this link."""
        fast = (self.upstream is not None and not self.closed and self.blackholed_by is None
                and self.lanes[UP].idle and self.lanes[DOWN].idle and not self.gone[UP] and not self.gone[DOWN])
        if fast and (self.req_framer is not None or self.order or self.answering is not None):
            if (self.proxy.http_faults or self.order or self.answering is not None
                    or not self.req_framer.idle):  # type: ignore[union-attr]
                fast = False
            else:
                self.req_framer = self.resp_framer = None
        self.client.fast = fast
        if self.upstream is not None:
            self.upstream.fast = fast

    def _transport(self, direction: str) -> asyncio.Transport | None:
        """Where bytes of ``direction`` are written."""
        if direction == UP:
            return self.upstream.transport if self.upstream is not None else None
        return self.client.transport

    def deliver(self, direction: str, data: bytes) -> None:
        transport = self._transport(direction)
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def finish(self, direction: str, close: bool) -> None:
        """A close (or half-close) reaches the destination of ``direction``."""
        transport = self._transport(direction)
        if transport is None or transport.is_closing():
            return
        if not close and transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()

    def reset(self) -> None:
        """Abort both sides with a TCP RST."""
        if self.closed:
            return
        self.closed = True
        self.proxy.counters["reset"] += 1
        for lane in self.lanes.values():
            lane.clear()
        _rst(self.client.transport)
        _rst(self.upstream.transport if self.upstream is not None else None)
        self.proxy.links.discard(self)
        self.settle()

    def blackhole(self, fault: Fault, verdict: Blackhole) -> None:
        self.blackholed_by = fault.id
        self.proxy.counters["blackholed"] += 1
        for lane in self.lanes.values():
            lane.clear()
        if verdict.close_after_s is not None:
            self.loop.call_later(verdict.close_after_s, self.reset)
        self.settle()

    # -- flow control ------------------------------------------------------------------------------
    def _source(self, direction: str) -> asyncio.Transport | None:
        """The transport that reads bytes of ``direction``."""
        if direction == UP:
            return self.client.transport
        return self.upstream.transport if self.upstream is not None else None

    def pause_source(self, direction: str, reason: str) -> None:
        reasons = self.paused[direction]
        if not reasons:
            source = self._source(direction)
            if source is not None and not source.is_closing():
                source.pause_reading()
        reasons.add(reason)

    def resume_source(self, direction: str, reason: str) -> None:
        reasons = self.paused[direction]
        if reason in reasons:
            reasons.discard(reason)
            if not reasons:
                source = self._source(direction)
                if source is not None and not source.is_closing():
                    source.resume_reading()

    # -- events from the sockets -----------------------------------------------------------------
    def on_eof(self, direction: str) -> bool:
        delay = sum(f.on_close(self, direction) for f in self.proxy.faults)
        if direction == DOWN and self.resp_framer is not None:
            seg = self.resp_framer.close()
            if seg is not None:
                self._response_done()
        self.gone[direction] = True
        self.settle()
        if self.blackholed_by is None:
            self.lanes[direction].push_marker(CLOSE if direction == DOWN else EOF, delay)
        # keep the client open after its half-close (the answer may still come); close upstream
        return direction == UP

    def on_lost(self, direction: str, exc: Exception | None) -> None:
        if self.closed:
            self.proxy.links.discard(self)
            return
        if exc is not None:
            self.reset()
            return
        if not self.gone[direction]:
            self.gone[direction] = True
            self.settle()
            if self.blackholed_by is None:
                delay = sum(f.on_close(self, direction) for f in self.proxy.faults)
                self.lanes[direction].push_marker(CLOSE, delay)
        other = self._transport(direction)
        if self.blackholed_by is not None and other is not None:
            other.close()
        if self.client.transport.is_closing() and (self.upstream is None or self.upstream.transport.is_closing()):
            self.closed = True
            for lane in self.lanes.values():
                lane.clear()
            self.proxy.links.discard(self)

    def on_data(self, direction: str, data: bytes) -> None:
        """The slow path: at least one fault is active, or this link has something queued."""
        if self.closed or self.blackholed_by is not None:
            return
        proxy = self.proxy
        delay = 0.0
        rate: float | None = None
        for fault in proxy.faults:
            verdict = fault.on_chunk(self, direction, data)
            if verdict is None:
                continue
            fault.hits += 1
            if verdict is RESET:
                self.reset()
                return
            if isinstance(verdict, Blackhole):
                self.blackhole(fault, verdict)
                return
            if isinstance(verdict, Throttle):
                rate = verdict.bytes_per_s if rate is None else min(rate, verdict.bytes_per_s)
            else:
                delay += verdict
        fresh = self.fresh and direction == UP
        if direction == UP:
            self.fresh = False
        if direction == UP:
            if self.http_ok and (self.req_framer is not None or (proxy.http_faults and
                                                                 (fresh or looks_like_request_start(data)))):
                self._requests(data, delay, rate)
            else:
                self.lanes[UP].push(data, delay, rate)
        elif self.resp_framer is not None:
            self._responses(data, delay, rate)
        else:
            self.lanes[DOWN].push(data, delay, rate)
        self.settle()

    # -- HTTP framing (HTTP faults) --------------------------------------------------------------
    def _method_of_next(self) -> str:
        head = self.order[0] if self.order else "GET"
        return head if isinstance(head, str) else "GET"

    def _requests(self, data: bytes, delay: float, rate: float | None) -> None:
        if self.req_framer is None:
            self.req_framer = RequestFramer()
            self.resp_framer = ResponseFramer(self._method_of_next)
        held = self.req_framer._head_buf
        try:
            segments = self.req_framer.feed(data)
        except FramingError:
            self._stop_framing()
            self.lanes[UP].push(held + data, delay, rate)
            return
        up = self.lanes[UP]
        for seg in segments:
            if seg.head is not None:
                self.answering, self.extra_delay = None, 0.0
                for fault in self.proxy.http_faults:
                    verdict = fault.on_request(self, seg.head)
                    if verdict is None:
                        continue
                    fault.hits += 1
                    if isinstance(verdict, Answer):
                        self.answering = verdict
                        break
                    self.extra_delay += verdict
                if self.answering is not None:
                    self._answer(self.answering, delay)
                else:
                    self.order.append(seg.head.method)
            if self.answering is None and seg.data:
                up.push(seg.data, delay + self.extra_delay, rate)
            if seg.end:
                self.answering, self.extra_delay = None, 0.0

    def _answer(self, answer: Answer, delay: float) -> None:
        self.proxy.counters["answered"] += 1
        if self.order:
            self.order.append(answer)
        else:
            self.lanes[DOWN].push(answer.data, delay)

    def _responses(self, data: bytes, delay: float, rate: float | None) -> None:
        try:
            segments = self.resp_framer.feed(data)  # type: ignore[union-attr]
        except FramingError:
            self.lanes[DOWN].push(data, delay, rate)
            self._stop_framing()
            return
        down = self.lanes[DOWN]
        for seg in segments:
            if seg.head is not None:
                self.resp_head = seg.head
            if seg.data:
                down.push(seg.data, delay, rate)
            if seg.end and not (self.resp_head is not None and is_informational(self.resp_head)):
                self._response_done(delay)

    def _response_done(self, delay: float = 0.0) -> None:
        order = self.order
        if order and isinstance(order[0], str):
            order.popleft()
        while order and isinstance(order[0], Answer):
            self.lanes[DOWN].push(order.popleft().data, delay)  # type: ignore[union-attr]

    def _stop_framing(self) -> None:
        """The stream is not HTTP we can follow: pass it through raw from now on."""
        self.http_ok = False
        self.req_framer = self.resp_framer = None
        while self.order:
            item = self.order.popleft()
            if isinstance(item, Answer):
                self.lanes[DOWN].push(item.data)
        self.answering = None
