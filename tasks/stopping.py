"""Stopping a run on request: SIGINT and SIGTERM set one process-wide flag every stage can see.

The CLI and the Prefect flow wrap a run in :func:`handle_signals`. The first SIGINT or SIGTERM:

1. records which signal arrived (:attr:`Interruption.reason`),
2. calls the listeners registered at that moment — the load stage's halts every shard at once
   (no graceful stop: no new request leaves, the ones in flight are cut),
3. cancels the run's task, so a stage awaiting a request stops where it is.

Stages keep what they measured and return ``interrupted``; the runner stores the run as
``interrupted``, starts nothing more, and the outputs still publish it (exit code 130). A second
signal does not wait: the process kills its children and exits 130 at once.

A dead parent is the other way a run stops: load shards and k6 die with the process that started
them (``PR_SET_PDEATHSIG``, :func:`die_with_parent`), and ``flows.reaper`` kills whatever else the
run started (a temporary Prefect server, a browser) when the run's process is SIGKILLed.

Standard library only: the load engine's worker processes import it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

#: the signals that ask a run to stop
SIGNALS = (signal.SIGINT, signal.SIGTERM)
_PR_SET_PDEATHSIG = 1


class Interruption:
    """The process-wide "stop now" flag (thread-safe; set from a signal handler or a test)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.RLock()  # re-entrant: a signal may land while the main thread holds it
        self._listeners: list[Callable[[], None]] = []
        self.reason: str | None = None

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self, reason: str) -> bool:
        """Ask the run to stop; True the first time. Listeners run now, in this thread."""
        with self._lock:
            if self._event.is_set():
                return False
            self.reason = reason
            self._event.set()
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn()
            except Exception:  # noqa: BLE001 - one broken listener must not keep the others running
                pass
        return True

    @contextlib.contextmanager
    def on_request(self, fn: Callable[[], None]) -> Iterator[None]:
        """Call ``fn`` when a stop is requested while the block runs (at once if it already was)."""
        with self._lock:
            self._listeners.append(fn)
            already = self._event.is_set()
        if already:
            fn()
        try:
            yield
        finally:
            with self._lock:
                self._listeners.remove(fn)

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def reset(self) -> None:
        """Forget a request (a new run in the same process, a test)."""
        with self._lock:
            self._event.clear()
            self.reason = None

    def describe(self) -> str:
        return f"interrupted by {self.reason}" if self.reason else "interrupted"


#: the one flag of this process
INTERRUPTION = Interruption()


def _kill_children_and_exit(code: int = 130) -> None:
    try:
        import psutil

        for child in psutil.Process().children(recursive=True):
            try:
                child.kill()
            except psutil.Error:
                pass
    except Exception:  # noqa: BLE001 - psutil missing: the reaper and PDEATHSIG still act
        pass
    try:
        sys.stderr.write("perfcampaign: stopped at once (second signal)\n")
        sys.stderr.flush()
    finally:
        os._exit(code)


@contextlib.contextmanager
def handle_signals(task: Any = None, loop: Any = None,
                   interruption: Interruption = INTERRUPTION) -> Iterator[dict[int, Any]]:
    """SIGINT and SIGTERM stop the run (see the module docstring) while the block runs.

    ``task``/``loop``: the asyncio task to cancel (default: the current task, when called inside a
    coroutine). Yields the handlers that were installed before, by signal number (the Prefect flow
    hands SIGTERM on to Prefect's own handler once the run is stored). Outside the main thread
    nothing is installed.
    """
    if task is None:
        try:
            import asyncio

            loop = asyncio.get_running_loop()
            task = asyncio.current_task()
        except RuntimeError:
            task = loop = None
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        yield previous
        return

    def handler(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if not interruption.request(name):
            _kill_children_and_exit()
        if task is not None and loop is not None and not task.done():
            loop.call_soon_threadsafe(task.cancel)

    for sig in SIGNALS:
        previous[sig] = signal.signal(sig, handler)
    try:
        yield previous
    finally:
        for sig, old in previous.items():
            try:
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
            except (ValueError, TypeError):
                pass


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux). True if set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def watch_parent(parent_pid: int, on_death: Callable[[], None], poll: float = 0.2) -> threading.Thread:
    """A daemon thread that calls ``on_death`` once the process ``parent_pid`` is no longer this
    process's parent (it died and this one was adopted): for systems without PDEATHSIG, and for
    the instant between a spawn and :func:`die_with_parent`."""

    def run() -> None:
        while True:
            if os.getppid() != parent_pid:
                on_death()
                return
            threading.Event().wait(poll)

    thread = threading.Thread(target=run, name="perfcampaign-parent-watch", daemon=True)
    thread.start()
    return thread
