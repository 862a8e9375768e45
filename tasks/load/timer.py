"""A wake-up at an exact instant, for the open model's arrival schedule.

libuv (and so uvloop) keeps time in whole milliseconds, so ``loop.call_at`` can fire up to a
millisecond early or late — as large as the latencies measured on loopback. On Linux a
``timerfd`` armed at an absolute ``CLOCK_MONOTONIC`` instant (the clock ``time.perf_counter``
reads) wakes the loop within microseconds; elsewhere this falls back to ``call_at``.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
import time
from collections.abc import Callable

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = 0o4000
_TFD_CLOEXEC = 0o2000000
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec), ctypes.c_void_p]
        return libc
    except (OSError, AttributeError):
        return None


class PreciseTimer:
    """Call ``callback()`` at ``perf_counter()``-time ``when`` (one pending wake-up at a time)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]):
        self.loop = loop
        self.callback = callback
        self._handle: asyncio.TimerHandle | None = None
        self._fd = -1
        self._spec = _Itimerspec()
        self._libc = _libc()
        if self._libc is not None and time.get_clock_info("perf_counter").implementation.startswith(
                "clock_gettime(CLOCK_MONOTONIC)"):
            fd = self._libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
            if fd >= 0:
                self._fd = fd
                loop.add_reader(fd, self._on_fd)

    @property
    def precise(self) -> bool:
        return self._fd >= 0

    def _on_fd(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:
            return
        self.callback()

    def at(self, when: float) -> None:
        if self._fd >= 0:
            when = max(when, 1e-6)
            sec = int(when)
            self._spec.it_value.tv_sec = sec
            self._spec.it_value.tv_nsec = int((when - sec) * 1e9)
            self._libc.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(self._spec), None)
            return
        if self._handle is not None:
            self._handle.cancel()
        delay = max(0.0, when - time.perf_counter())
        self._handle = self.loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self.callback()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self._fd >= 0:
            self.loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1
