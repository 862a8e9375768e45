"""Command line entry point: ``python -m demo --port 8101 --db PATH``.

Flags default to the environment (DEMO_LATENCY_MS, DEMO_JITTER_MS,
DEMO_ERROR_RATE) and then to 0.  Prints one line once the socket is listening.
"""

import argparse
import os
import sys

from prometheus_client import disable_created_metrics


def _env_float(name: str) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw.strip() else 0.0
    except ValueError:
        sys.exit(f"demo: {name}={raw!r} is not a number")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo", description="Run the demo service under test.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101, help="0 picks a free port (printed when listening)")
    parser.add_argument("--db", default=".perfcampaign/demo.sqlite3",
                        help="SQLite file; created and seeded if missing (default: %(default)s)")
    parser.add_argument("--latency-ms", type=float, default=_env_float("DEMO_LATENCY_MS"),
                        help="added latency on real API routes (env DEMO_LATENCY_MS)")
    parser.add_argument("--jitter-ms", type=float, default=_env_float("DEMO_JITTER_MS"),
                        help="uniform +/- jitter around the latency (env DEMO_JITTER_MS)")
    parser.add_argument("--error-rate", type=float, default=_env_float("DEMO_ERROR_RATE"),
                        help="fraction of real API requests answered 503 (env DEMO_ERROR_RATE)")
    parser.add_argument("--seed", type=int, default=42, help="seed for the data and the knobs' randomness")
    parser.add_argument("--pool-size", type=int, default=4, help="SQLite connections / DB worker threads")
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--access-log", action="store_true", help="log every request (slows the service)")
    args = parser.parse_args(argv)
    if args.latency_ms < 0 or args.jitter_ms < 0:
        parser.error("--latency-ms and --jitter-ms must be >= 0")
    if not 0 <= args.error_rate <= 1:
        parser.error("--error-rate must be between 0 and 1")
    if args.pool_size < 1:
        parser.error("--pool-size must be >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    disable_created_metrics()  # drop the *_created series from /metrics

    from .app import create_app
    from .server import serve

    app = create_app(args.db, latency_ms=args.latency_ms, jitter_ms=args.jitter_ms, error_rate=args.error_rate,
                     seed=args.seed, pool_size=args.pool_size)

    def announce(host: str, port: int) -> None:
        print(f"demo service listening on http://{host}:{port} (db={args.db}, pid={os.getpid()})", flush=True)

    serve(app, args.host, args.port, on_ready=announce, log_level=args.log_level, access_log=args.access_log)


if __name__ == "__main__":
    main()
