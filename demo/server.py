"""Running the demo app under uvicorn (uvloop + httptools, one process).

* ``serve(app, host, port, on_ready)`` blocks until SIGINT/SIGTERM; the CLI uses it.
* ``running(db_path, **knobs)`` is a context manager that runs a fresh app in a
  background thread on a free 127.0.0.1 port and yields its base URL; tests
  and other in-process callers use it.
"""

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import uvicorn

from .app import create_app


def make_config(app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
                access_log: bool = False) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools", lifespan="on",
                          log_level=log_level, access_log=access_log)


def bound_port(server: uvicorn.Server) -> int:
    return server.servers[0].sockets[0].getsockname()[1]


class _AnnouncingServer(uvicorn.Server):
    """uvicorn.Server that calls ``on_ready(host, port)`` once its sockets listen."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str, int], None] | None) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_ready is not None:
            self.on_ready(self.config.host, bound_port(self))


def serve(app, host: str, port: int, on_ready: Callable[[str, int], None] | None = None, **config_kw) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; ``on_ready(host, port)`` once listening."""
    config = make_config(app, host, port, **config_kw)
    _AnnouncingServer(config, on_ready).run()


@contextmanager
def running(db_path: str | Path, startup_timeout_s: float = 10.0, **app_kw) -> Iterator[str]:
    """Run ``create_app(db_path, **app_kw)`` in a thread; yields ``http://127.0.0.1:PORT``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(make_config(create_app(db_path, **app_kw), port=port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("demo service did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
