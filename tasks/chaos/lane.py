"""One direction of a proxied connection: items delivered in order, each no earlier than its due time.

A chunk with no delay and nothing queued ahead of it is written at once; otherwise it waits in the
queue (latency, ``http_delay``), or is cut into pieces spaced by a rate (``bandwidth``). Markers
carry a close or a half-close in order behind the data. One timer per lane at most, on the
earliest due item. A lane holding more than ``LANE_HIGH`` bytes pauses reading its source.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from tasks.chaos.faults.base import UP

if TYPE_CHECKING:  # pragma: no cover
    from tasks.chaos.link import Link

#: a lane holding more than this pauses reading its source (memory stays bounded under delays)
LANE_HIGH = 4 * 2**20
LANE_LOW = 1 * 2**20
CLOSE = object()   # close the destination once everything before it is delivered
EOF = object()     # half-close (write_eof) the destination


class Lane:
    """One direction of a link: items delivered in order, each no earlier than its due time."""

    __slots__ = ("link", "direction", "queue", "last_due", "handle", "size", "blocked")

    def __init__(self, link: Link, direction: str):
        self.link = link
        self.direction = direction
        self.queue: deque[tuple[float, Any]] = deque()
        self.last_due = 0.0
        self.handle: asyncio.TimerHandle | None = None
        self.size = 0
        self.blocked = direction == UP   # until the upstream connection is open

    def push(self, data: bytes, delay: float = 0.0, rate: float | None = None) -> None:
        now = self.link.loop.time()
        due = now + delay
        if due < self.last_due:
            due = self.last_due
        if rate is None:
            if not self.queue and due <= now and not self.blocked:
                self.link.deliver(self.direction, data)
                return
            self.queue.append((due, data))
            self.last_due = due
        else:
            piece = max(1024, int(rate * 0.02))
            t = due
            for i in range(0, len(data), piece):
                part = data[i:i + piece]
                t += len(part) / rate
                self.queue.append((t, part))
            self.last_due = t
        self.size += len(data)
        if self.size > LANE_HIGH:
            self.link.pause_source(self.direction, "lane")
        self.arm()

    def push_marker(self, marker: object, delay: float = 0.0) -> None:
        now = self.link.loop.time()
        due = max(now + delay, self.last_due)
        self.queue.append((due, marker))
        self.last_due = due
        self.arm()

    def arm(self) -> None:
        if self.handle is None and self.queue and not self.blocked:
            self.handle = self.link.loop.call_at(self.queue[0][0], self.run)

    def run(self) -> None:
        self.handle = None
        link = self.link
        now = link.loop.time()
        queue = self.queue
        while queue and queue[0][0] <= now and not link.closed:
            _, item = queue.popleft()
            if item is CLOSE or item is EOF:
                link.finish(self.direction, item is CLOSE)
                continue
            self.size -= len(item)
            link.deliver(self.direction, item)
        if self.size < LANE_LOW:
            link.resume_source(self.direction, "lane")
        if queue and not link.closed:
            self.arm()
        else:
            link.settle()

    def clear(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self.queue.clear()
        self.size = 0

    @property
    def idle(self) -> bool:
        return not self.queue
