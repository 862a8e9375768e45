"""Servers the benchmarks drive, all on loopback: nginx from a generated config, and a stalling
server for the coordinated-omission benchmark."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

NGINX_CONF = """
worker_processes 1;
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            default_type text/plain;
            return 200 "hello from nginx\\n";
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def taskset(cpu: int | None) -> list[str]:
    if cpu is None or not shutil.which("taskset") or (os.cpu_count() or 1) <= cpu:
        return []
    return ["taskset", "-c", str(cpu)]


@contextmanager
def nginx(cpu: int | None = 1, stall_every: float = 0.0, stall_for: float = 0.0) -> Iterator[str]:
    """Start nginx (one worker, access log off, ``return 200``) on a free loopback port.

    With ``stall_every``, nginx is frozen (SIGSTOP) for ``stall_for`` seconds every ``stall_every``
    seconds and then resumed (SIGCONT): a true stall, nothing accepted, read or answered, and a
    recovery as fast as nginx can drain its backlog.
    """
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix="pc-nginx-") as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=tmp, port=port))
        proc = subprocess.Popen([*taskset(cpu), exe, "-c", str(conf), "-p", tmp, "-e", f"{tmp}/error.log"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stop = threading.Event()
        freezer = threading.Thread(target=_freeze_loop, args=(proc, stall_every, stall_for, stop), daemon=True)
        try:
            wait_port(port)
            if stall_every > 0:
                freezer.start()
            yield f"http://127.0.0.1:{port}"
        finally:
            stop.set()
            if freezer.is_alive():
                freezer.join(stall_for + 1)
            proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _freeze_loop(proc: subprocess.Popen, every: float, stall: float, stop: threading.Event) -> None:
    t0 = time.monotonic()
    k = 1
    while not stop.is_set():
        if stop.wait(max(0.0, t0 + k * every - time.monotonic())):
            return
        proc.send_signal(signal.SIGSTOP)
        time.sleep(max(0.0, t0 + k * every + stall - time.monotonic()))
        proc.send_signal(signal.SIGCONT)
        k += 1


STALL_SERVER = r'''
import asyncio, sys, time
import uvloop

BODY = b"ok\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\n" + BODY

class P(asyncio.Protocol):
    def connection_made(self, t): self.t = t; self.buf = b""
    def data_received(self, data):
        self.buf += data
        n = self.buf.count(b"\r\n\r\n")
        if n:
            self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4:]
            self.t.write(RESP * n)

async def main(port, every, stall, lifetime):
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(P, "127.0.0.1", port, backlog=4096)
    t0 = time.monotonic()
    k = 1
    while time.monotonic() - t0 < lifetime:
        await asyncio.sleep(max(0.0, t0 + k * every - time.monotonic()))
        time.sleep(stall)  # the whole process stalls: nothing is accepted, read or answered
        k += 1
    srv.close()

port, every, stall, lifetime = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
uvloop.run(main(port, every, stall, lifetime))
'''


@contextmanager
def stalling_server(every: float = 5.0, stall: float = 0.5, lifetime: float = 600.0,
                    cpu: int | None = 1) -> Iterator[str]:
    """A tiny server that answers at once but freezes for ``stall`` s every ``every`` s."""
    port = free_port()
    proc = subprocess.Popen([*taskset(cpu), sys.executable, "-c", STALL_SERVER, str(port), str(every), str(stall),
                             str(lifetime)])
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
