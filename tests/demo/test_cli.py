"""``python -m demo`` starts as a subprocess and answers quickly."""

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_starts_and_answers_health(tmp_path):
    port = free_port()
    db = tmp_path / "cli.sqlite3"
    env = {**os.environ, "DEMO_ERROR_RATE": "1", "DEMO_LATENCY_MS": "5"}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--port", str(port), "--db", str(db)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 5.0)
        assert ready, "no output within 5 s"
        line = proc.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}" in line
        r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0)
        assert r.status_code == 200 and r.json()["db"] == "ok"
        assert time.monotonic() - start < 5.0
        assert db.exists()
        # knobs from the environment
        assert httpx.get(f"http://127.0.0.1:{port}/admin/knobs").json()["error_rate"] == 1
        assert httpx.get(f"http://127.0.0.1:{port}/api/products/1").status_code == 503
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "Traceback" not in proc.stderr.read()


def test_cli_rejects_bad_knobs(tmp_path):
    r = subprocess.run([sys.executable, "-m", "demo", "--db", str(tmp_path / "x.db"), "--error-rate", "3"],
                       cwd=REPO, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--error-rate" in r.stderr
