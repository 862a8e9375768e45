"""The demo service as a real subprocess on a free loopback port (``python -m demo --port 0``),
for the import and k6 tests: the load generators then measure a service that does not share
their process."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def demo_service(db: Path, timeout_s: float = 30.0) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--host", "127.0.0.1", "--port", "0", "--db", str(db)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout_s
        url = None
        assert proc.stdout is not None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                if proc.poll() is not None:
                    break
                continue
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                url = m.group(1)
        if url is None:
            raise RuntimeError(f"the demo service did not start (exit {proc.poll()})")
        # keep draining its output so a chatty service never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
