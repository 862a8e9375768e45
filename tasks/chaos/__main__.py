"""``python -m tasks.chaos --upstream 127.0.0.1:8101 [--listen 127.0.0.1:8201] [--admin 127.0.0.1:8474]``

A standalone fault proxy with its admin API (``tasks/chaos/admin.py``), for trying faults by
hand or from another tool. ``--env-kind`` must say dev or staging: production is refused.
Prints one JSON line (listen, admin addresses) once both listen; runs until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from tasks.chaos.admin import serve_admin
from tasks.chaos.errors import ChaosError
from tasks.chaos.faults import build
from tasks.chaos.proxy import FaultProxy, parse_address


async def _main(args: argparse.Namespace) -> None:
    proxy = FaultProxy(args.upstream, env_kind=args.env_kind, listen=args.listen, seed=args.seed)
    await proxy.start()
    admin = await serve_admin(proxy, *parse_address(args.admin))
    for spec in args.fault or []:
        doc = json.loads(spec)
        proxy.add_fault(build(doc["type"], doc.get("params"), float(doc.get("fraction", 1.0)), doc.get("name")))
    host, port = admin.sockets[0].getsockname()[:2]
    print(json.dumps({"listen": proxy.url, "admin": f"http://{host}:{port}", "upstream": args.upstream}), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        admin.close()
        await proxy.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tasks.chaos", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="host:port to forward to")
    ap.add_argument("--listen", default="127.0.0.1:0", help="loopback host:port (default: a free port)")
    ap.add_argument("--admin", default="127.0.0.1:0", help="loopback host:port of the admin API")
    ap.add_argument("--env-kind", default="dev", choices=["dev", "staging", "production"],
                    help="the environment's kind (production is refused)")
    ap.add_argument("--fault", action="append", help='a fault to start with, as JSON: {"type": "latency", ...}')
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        import uvloop

        uvloop.run(_main(args))
    except ChaosError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
