"""``python -m tasks.chaos --upstream 127.0.0.1:8101 --env-kind staging [--listen …] [--admin …]``
``python -m tasks.chaos --campaign campaigns/demo.yaml --env staging [--upstream …]``

A standalone fault proxy with its admin API (``tasks/chaos/admin.py``), for trying faults by
hand or from another tool. The environment must say what it is: either ``--env-kind`` (dev or
staging; there is no default) or ``--campaign FILE --env NAME``, which takes the kind from the
campaign, the upstream from the environment's base URL (unless ``--upstream`` is given), and
refuses an upstream that is the host and port of ANY production environment of the campaign,
whatever the chosen environment is labelled. Production is refused either way.
Prints one JSON line (listen, admin addresses) once both listen; runs until interrupted.
Exit codes: 0 stopped, 2 refused or bad input.
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
    proxy = FaultProxy(args.upstream, env_kind=args.env_kind, listen=args.listen, seed=args.seed,
                       production_targets=args.production_targets)
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
    ap.add_argument("--upstream", help="host:port to forward to (default with --campaign: the environment's)")
    ap.add_argument("--listen", default="127.0.0.1:0", help="loopback host:port (default: a free port)")
    ap.add_argument("--admin", default="127.0.0.1:0", help="loopback host:port of the admin API")
    ap.add_argument("--env-kind", choices=["dev", "staging", "production"],
                    help="the environment's kind, required without --campaign (production is refused)")
    ap.add_argument("--campaign", help="campaign file: the kind, the upstream and the production targets come from it")
    ap.add_argument("--env", help="environment of --campaign")
    ap.add_argument("--fault", action="append", help='a fault to start with, as JSON: {"type": "latency", ...}')
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        _resolve(ap, args)
        import uvloop

        uvloop.run(_main(args))
    except (ChaosError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def _resolve(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fill the kind, upstream and production targets from --campaign/--env, or insist on --env-kind."""
    args.production_targets = {}
    if args.campaign:
        from campaigns.loader import CampaignError, load_campaign

        try:
            campaign = load_campaign(args.campaign).campaign
        except CampaignError as exc:
            raise ValueError(str(exc)) from None
        if not args.env or args.env not in campaign.environments:
            ap.error(f"--env must name an environment of {args.campaign}: {', '.join(campaign.environments)}")
        env = campaign.environments[args.env]
        if args.env_kind and args.env_kind != env.kind:
            ap.error(f"--env-kind {args.env_kind} contradicts the campaign: {args.env!r} is {env.kind}")
        args.env_kind = env.kind
        args.upstream = args.upstream or f"{env.host}:{env.port}"
        args.production_targets = campaign.production_targets()
    elif args.env_kind is None:
        ap.error("say which kind of environment this is: --env-kind dev|staging, or --campaign FILE --env NAME "
                 "(there is no default: production is refused)")
    if not args.upstream:
        ap.error("--upstream host:port is required without --campaign")


if __name__ == "__main__":
    sys.exit(main())
