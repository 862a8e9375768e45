"""The process tree a run started, noted while it runs, and what of it is still alive after a stop
(shared by tests/hostile/test_stopping.py and bench/stopping.py)."""

from __future__ import annotations

import time

import psutil


class ProcessTree:
    """Descendants of ``pid`` seen so far, each with its start time (a reused pid is not the same
    process)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.seen: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self.seen)

    def __iter__(self):
        return iter(self.seen)

    def note(self) -> None:
        try:
            for child in psutil.Process(self.pid).children(recursive=True):
                self.seen[child.pid] = child.create_time()
        except psutil.Error:
            pass

    def alive(self) -> list[str]:
        """The noted processes still running (zombies aside), as ``"pid command…"``."""
        out = []
        for pid, created in self.seen.items():
            try:
                proc = psutil.Process(pid)
                if abs(proc.create_time() - created) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE:
                    out.append(f"{pid} {' '.join(proc.cmdline())[:100]}")
            except psutil.Error:
                continue
        return out

    def alive_within(self, seconds: float) -> list[str]:
        """Wait up to ``seconds`` for the noted processes to end; what is still alive then."""
        deadline = time.monotonic() + seconds
        while True:
            alive = self.alive()
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.2)
