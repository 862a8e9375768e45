"""A watchdog for one perfcampaign run: when its process dies — SIGKILL included — whatever the run
started goes too.

Load shards and k6 already die with their parent (``PR_SET_PDEATHSIG``, see ``tasks.stopping``);
what a run starts through other libraries does not: Prefect's temporary API server (issue 14: it
survived a SIGKILLed run), a browser, a service under test. :func:`start` launches
``python -m flows.reaper`` in its own session, holding the read end of a pipe whose write end only
the run's process has. The kernel closes that end however the process ends, so the reaper learns
of the death at once (EOF), without polling for it. Meanwhile it notes the run's descendants every
half second (pid and start time, so a reused pid is never mistaken for one); on EOF it sends
SIGTERM to those still alive, and SIGKILL half a second later.

A run that ends normally has stopped its children already; anything left over is reaped the same way.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from typing import Any

#: seconds between two looks at the run's descendants
SCAN_EVERY = 0.5
#: seconds between SIGTERM and SIGKILL
GRACE = 0.5


def start(pid: int | None = None) -> Any:
    """Start a reaper for process ``pid`` (default: this one); returns the write end to keep open
    (closing it — or dying — sets the reaper off), or None when it cannot start."""
    pid = pid or os.getpid()
    try:
        read_end, write_end = os.pipe()
        proc = subprocess.Popen([sys.executable, "-m", "flows.reaper", str(pid)], stdin=read_end,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    except OSError:
        return None
    os.close(read_end)
    return _Handle(write_end, proc)


class _Handle:
    def __init__(self, fd: int, proc: subprocess.Popen[bytes]):
        self.fd, self.proc = fd, proc

    def close(self) -> None:
        """The run ended normally: let the reaper clean up and go."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def watch(pid: int, stdin_fd: int = 0) -> int:
    import psutil

    seen: dict[int, float] = {}
    me = os.getpid()
    try:
        parent = psutil.Process(pid)
    except psutil.Error:
        return 0
    while True:
        ready, _, _ = select.select([stdin_fd], [], [], SCAN_EVERY)
        if ready:
            try:
                data = os.read(stdin_fd, 4096)
            except OSError:
                data = b""
            if not data:
                break
            continue
        try:
            for child in parent.children(recursive=True):
                if child.pid != me:
                    try:
                        seen[child.pid] = child.create_time()
                    except psutil.Error:
                        pass
        except psutil.Error:
            break
    return reap(seen)


def reap(seen: dict[int, float]) -> int:
    """SIGTERM then SIGKILL every process of ``seen`` (pid → start time) still alive; how many."""
    import psutil

    alive = []
    for pid, created in seen.items():
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.Error:
            continue
    for proc in alive:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass
    _, rest = psutil.wait_procs(alive, timeout=GRACE)
    for proc in rest:
        try:
            proc.kill()
        except psutil.Error:
            pass
    return len(alive)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the run, not for its reaper
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    watch(int(args[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
