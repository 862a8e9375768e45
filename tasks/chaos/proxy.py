"""A fault-injecting TCP proxy on asyncio Protocols (uvloop), in the manner of Toxiproxy.

:class:`FaultProxy` listens on a loopback address and forwards every connection to one upstream
``host:port``. Faults (``tasks.chaos.faults``) are added and removed at runtime with
:meth:`FaultProxy.add_fault` / :meth:`~FaultProxy.remove_fault` / :meth:`~FaultProxy.clear_faults`
(or over HTTP, see ``admin``); :class:`ProxyThread` runs a proxy on its own uvloop loop in a
thread, with the same API callable from any thread.

**Fast path.** While no fault is active and a connection has nothing queued, a chunk read on one
side is written to the other at once: ``if self.fast and not proxy.faults: peer.write(data)`` —
no parsing, no copy, no timer. Only when a fault is active does a chunk take the slow path
(``link.Link.on_data``): the faults' hooks give a verdict (delay, throttle, reset, blackhole), and
the chunk goes through the direction's ``lane.Lane``, which delivers in order at each item's due
time. HTTP faults additionally frame requests and responses (``http11``) to answer or delay one
request while keeping answers in order. A connection returns to the fast path once its lanes are
empty and nothing HTTP is pending.

**Safety.** The constructor and ``add_fault`` refuse a production environment
(:func:`tasks.chaos.errors.refuse_production`), and the constructor an upstream that is a production
environment's target (``production_targets``); the listening address must be loopback; removing a
fault undoes what it holds (a ``timeout`` fault's silent connections are aborted), and
:meth:`FaultProxy.stop` clears every fault first.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from campaigns.types import is_loopback
from tasks.chaos.errors import ChaosError, refuse_production, refuse_production_target
from tasks.chaos.faults.base import Fault
from tasks.chaos.link import Link, _ClientSide



def parse_address(text: str | tuple[str, int]) -> tuple[str, int]:
    """``"127.0.0.1:8080"`` or ``("127.0.0.1", 8080)`` → ``("127.0.0.1", 8080)``."""
    if isinstance(text, tuple):
        return text[0], int(text[1])
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{text!r} is not host:port")
    return host.strip("[]"), int(port)


class FaultProxy:
    """Listen on ``listen`` (loopback), forward to ``upstream``, inject the active faults."""

    def __init__(self, upstream: str | tuple[str, int], *, env_kind: str, listen: str | tuple[str, int] = ("127.0.0.1", 0),
                 seed: int | None = None, connect_timeout: float = 5.0, name: str = "proxy",
                 production_targets: dict[tuple[str, int], str] | None = None):
        refuse_production(env_kind, "a fault proxy")
        self.env_kind = env_kind
        self.upstream = parse_address(upstream)
        refuse_production_target(self.upstream, production_targets or {}, "a fault proxy")
        self.listen = parse_address(listen)
        if not is_loopback(self.listen[0]):
            raise ChaosError(f"the proxy listens on loopback only, not {self.listen[0]!r}")
        self.name = name
        self.connect_timeout = connect_timeout
        self.rng = random.Random(seed)
        self.faults: tuple[Fault, ...] = ()
        self.http_faults: tuple[Fault, ...] = ()
        self.links: set[Link] = set()
        self.counters = {"accepted": 0, "reset": 0, "blackholed": 0, "answered": 0, "upstream_failed": 0}
        #: every fault window: {id, type, fraction, params, started_at, ended_at, hits} (epoch seconds)
        self.windows: list[dict[str, Any]] = []
        self.server: asyncio.AbstractServer | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.address: tuple[str, int] | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> FaultProxy:
        self.loop = asyncio.get_running_loop()
        self.server = await self.loop.create_server(lambda: _ClientSide(self), self.listen[0], self.listen[1],
                                                    reuse_address=True, backlog=1024)
        self.address = self.server.sockets[0].getsockname()[:2]
        return self

    @property
    def port(self) -> int:
        assert self.address is not None, "the proxy is not started"
        return self.address[1]

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening side."""
        assert self.address is not None, "the proxy is not started"
        return f"http://{self.address[0]}:{self.address[1]}"

    async def stop(self) -> None:
        self.clear_faults()
        if self.server is not None:
            self.server.close()
        for link in list(self.links):
            link.closed = True
            for lane in link.lanes.values():
                lane.clear()
            link.client.transport.abort()  # type: ignore[union-attr]
            if link.upstream is not None:
                link.upstream.transport.abort()  # type: ignore[union-attr]
        self.links.clear()
        if self.server is not None:
            await self.server.wait_closed()
            self.server = None

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- faults ----------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        refuse_production(self.env_kind, f"fault {fault.type!r}")
        if any(f.id == fault.id for f in self.faults):
            raise ChaosError(f"a fault with id {fault.id!r} is already active")
        self.faults = (*self.faults, fault)
        self.http_faults = tuple(f for f in self.faults if f.http)
        self.windows.append({**fault.describe(), "started_at": time.time(), "ended_at": None, "hits": 0})
        for link in list(self.links):
            link.fresh = False  # it may have carried bytes on the fast path: frame from a request start
            link.settle()
        fault.on_activate(self)
        return fault

    def remove_fault(self, fault: Fault | str) -> bool:
        fid = fault if isinstance(fault, str) else fault.id
        found = [f for f in self.faults if f.id == fid]
        if not found:
            return False
        self.faults = tuple(f for f in self.faults if f.id != fid)
        self.http_faults = tuple(f for f in self.faults if f.http)
        for f in found:
            self._close_window(f)
            f.on_deactivate(self)
        for link in list(self.links):
            link.settle()
        return True

    def clear_faults(self) -> list[Fault]:
        """Remove every active fault (what a rollback or a cancellation does first)."""
        removed = list(self.faults)
        for fault in removed:
            self.remove_fault(fault)
        return removed

    def _close_window(self, fault: Fault) -> None:
        for window in reversed(self.windows):
            if window["id"] == fault.id and window["ended_at"] is None:
                window["ended_at"] = time.time()
                window["hits"] = fault.hits
                return

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "listen": f"{self.address[0]}:{self.address[1]}" if self.address else None,
                "upstream": f"{self.upstream[0]}:{self.upstream[1]}", "faults": [f.describe() for f in self.faults],
                "connections": len(self.links), "counters": dict(self.counters)}


class ProxyThread:
    """A :class:`FaultProxy` on its own uvloop event loop in a daemon thread.

    Every method may be called from any thread (it runs on the proxy's loop and waits), so the
    chaos run, a test or a benchmark steer the proxy without sharing its loop.
    """

    def __init__(self, upstream: str | tuple[str, int], *, env_kind: str,
                 listen: str | tuple[str, int] = ("127.0.0.1", 0), seed: int | None = None, name: str = "proxy",
                 connect_timeout: float = 5.0, production_targets: dict[tuple[str, int], str] | None = None):
        self.proxy = FaultProxy(upstream, env_kind=env_kind, listen=listen, seed=seed, name=name,
                                connect_timeout=connect_timeout, production_targets=production_targets)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> ProxyThread:
        self.thread = threading.Thread(target=self._main, name=f"chaos-{self.proxy.name}", daemon=True)
        self.thread.start()
        if not self._ready.wait(timeout):
            raise ChaosError("the fault proxy did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        try:
            import uvloop

            loop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover
            loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.proxy.start())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 5.0) -> Any:
        """Run ``fn(*args)`` on the proxy's loop and return its result."""
        loop = self.loop
        if loop is None or loop.is_closed():
            raise ChaosError("the fault proxy is not running")
        if threading.current_thread() is self.thread:
            return fn(*args)

        async def run() -> Any:
            result = fn(*args)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout)

    # -- the FaultProxy API, from any thread -----------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        return self.call(self.proxy.add_fault, fault)

    def remove_fault(self, fault: Fault | str) -> bool:
        return self.call(self.proxy.remove_fault, fault)

    def clear_faults(self) -> list[Fault]:
        if self.loop is None or self.loop.is_closed():
            return []
        return self.call(self.proxy.clear_faults)

    @property
    def faults(self) -> tuple[Fault, ...]:
        return self.proxy.faults

    @property
    def windows(self) -> list[dict[str, Any]]:
        return self.call(lambda: [dict(w) for w in self.proxy.windows])

    def describe(self) -> dict[str, Any]:
        return self.call(self.proxy.describe)

    @property
    def url(self) -> str:
        return self.proxy.url

    @property
    def port(self) -> int:
        return self.proxy.port

    def stop(self, timeout: float = 10.0) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            self.call(self.proxy.stop, timeout=timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self.thread is not None:
                self.thread.join(timeout)

    def __enter__(self) -> ProxyThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
