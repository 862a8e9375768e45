"""``perfcampaign serve``: the reports folder over HTTP on loopback, for a browser or the team's reverse proxy.

    perfcampaign serve                               # http://127.0.0.1:8480/ → <warehouse folder>/reports
    perfcampaign serve --port 9000 --public-url https://perf.example.com/reports

Reports are self-contained HTML files, so any static server works; this one needs nothing
installed, lists the reports newest first at ``/``, answers only on a loopback address (put nginx
or your ingress in front of it to share it: ``--public-url`` is the address people reach it at),
and writes ``<reports>/.serve.json`` while it runs so each new run links its report at that URL in
Slack and in the Prefect UI without any setting (``notify.report_url`` wins when set).

Only files under the reports folder are served (no directory traversal: ``SimpleHTTPRequestHandler``
with ``directory=``), GET and HEAD only.
"""

from __future__ import annotations

import html
import ipaddress
import json
import os
import signal
import socket
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

from campaigns.vocabulary import ExitCode
from flows.console import Failure

STATE_FILE = ".serve.json"
DEFAULT_PORT = 8480


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def served_url(reports_root: Path) -> str | None:
    """The URL a running ``perfcampaign serve`` publishes this reports folder at, or None."""
    state = reports_root / STATE_FILE
    try:
        data = json.loads(state.read_text())
    except (OSError, ValueError):
        return None
    pid = data.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    return data.get("public_url") or data.get("url")


def report_index(root: Path, limit: int = 200) -> list[dict[str, Any]]:
    """The reports under ``root``, newest first: campaign, time, verdict (from run.json when there)."""
    found = []
    for page in root.glob("*/*/report.html"):
        entry: dict[str, Any] = {"path": page.relative_to(root).as_posix(), "campaign": page.parent.parent.name,
                                 "stamp": page.parent.name, "mtime": page.stat().st_mtime, "verdict": None,
                                 "environments": ""}
        run = page.parent / "run.json"
        if run.exists():
            try:
                doc = json.loads(run.read_text())
                entry["verdict"] = (doc.get("report") or {}).get("verdict") or doc.get("status")
                entry["environments"] = ", ".join(doc.get("environments") or {})
            except (OSError, ValueError):
                pass
        found.append(entry)
    found.sort(key=lambda e: e["mtime"], reverse=True)
    return found[:limit]


def index_html(root: Path) -> str:
    rows = "".join(
        f'<tr><td><a href="{html.escape(e["path"])}">{html.escape(e["campaign"])}</a></td>'
        f'<td>{datetime.fromtimestamp(e["mtime"], UTC):%Y-%m-%d %H:%M} UTC</td>'
        f'<td>{html.escape(e["verdict"] or "–")}</td><td>{html.escape(e["environments"])}</td></tr>'
        for e in report_index(root))
    body = (f"<table><thead><tr><th>campaign</th><th>generated</th><th>verdict</th><th>environments</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>" if rows else "<p>No report yet: run a campaign.</p>")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>perfcampaign reports</title>"
            "<style>body{font:15px/1.5 system-ui,sans-serif;margin:32px;color:#1f2328}table{border-collapse:"
            "collapse}td,th{padding:6px 14px;border-bottom:1px solid #d0d7de;text-align:left}a{color:#0969da}"
            f"</style></head><body><h1>perfcampaign reports</h1><p>{html.escape(str(root))}</p>{body}</body></html>")


class ReportsHandler(SimpleHTTPRequestHandler):
    """Static files under the reports folder; ``/`` is the index of reports."""

    server_version = "perfcampaign-serve"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path in ("/", "/index.html"):
            body = index_html(Path(self.directory)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
            return
        if Path(self.path.split("?", 1)[0]).name == STATE_FILE:
            self.send_error(404)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        if os.environ.get("PERFCAMPAIGN_SERVE_LOG"):
            super().log_message(format, *args)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(root: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    root.mkdir(parents=True, exist_ok=True)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Server(ThreadingHTTPServer):
        address_family = family
        daemon_threads = True

    return Server((host, port), lambda *a, **kw: ReportsHandler(*a, directory=str(root), **kw))


def write_state(root: Path, url: str, public_url: str | None) -> Path:
    state = root / STATE_FILE
    state.write_text(json.dumps({"pid": os.getpid(), "url": url, "public_url": public_url,
                                 "started_at": datetime.now(UTC).isoformat()}))
    return state


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="0 picks a free port.")
@click.option("--public-url", help="Where people reach this server (your reverse proxy), e.g. "
              "https://perf.example.com/reports: links in Slack and Prefect use it.")
@click.option("--warehouse", type=click.Path(dir_okay=False), help="DuckDB file whose reports folder to serve.")
@click.option("--dir", "folder", type=click.Path(file_okay=False), help="Serve this folder instead.")
def serve(host: str, port: int, public_url: str | None, warehouse: str | None, folder: str | None) -> None:
    """Serve the reports folder on loopback (for a browser, or behind the team's reverse proxy)."""
    from warehouse.store import default_path

    if not is_loopback(host):
        raise Failure(f"--host {host}: perfcampaign serve answers on loopback only (127.0.0.1, ::1); put a reverse "
                      "proxy in front of it to share the reports", ExitCode.BAD_INPUT)
    if public_url and not public_url.startswith(("http://", "https://")):
        raise Failure(f"--public-url {public_url!r}: an http(s) URL", ExitCode.BAD_INPUT)
    root = Path(folder) if folder else default_path(warehouse).parent / "reports"
    try:
        server = make_server(root, host, port)
    except OSError as exc:
        raise Failure(f"cannot listen on {host}:{port}: {exc.strerror or exc}", ExitCode.INFRA) from None
    bound = server.server_address[1]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{bound}"
    state = write_state(root, url, public_url.rstrip("/") if public_url else None)
    click.echo(f"serving {root} at {url}/" + (f" (public: {public_url})" if public_url else "")
               + " — Ctrl-C to stop", err=True)
    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        try:
            if json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        except (OSError, ValueError):
            pass
