"""The quick CLI's human output, golden-tested."""

from __future__ import annotations

from click.testing import CliRunner

from tasks.load.quick import _print_human

DOC = {
    "url": "http://127.0.0.1:8080/health", "model": "open", "duration_s": 10.0, "shards": 1, "requests": 1000,
    "errors": 3, "error_rate": 0.003, "rps": 100.0, "target_rate": 100.0, "achieved_rate": 99.9,
    "latency_ms": {"min": 0.1, "mean": 1.5, "p50": 1.2, "p90": 2.0, "p95": 2.5, "p99": 9.0, "max": 12.0},
    "service_ms": {"mean": 1.0, "p50": 0.9, "p90": 1.5, "p95": 2.0, "p99": 3.0, "max": 5.0},
    "errors_by_kind": {"status_5xx": 2, "timeout": 1}, "status_codes": {"200": 997, "503": 2},
    "dropped": 0, "late": 4, "interrupted": 0, "connections_opened": 3,
    "generator": {"cpu_mean": 0.12, "cpu_max": 0.2, "sched_lag_p99_ms": 0.2, "loop_lag_max_ms": 1.0},
    "trustworthy": False, "reasons": ["generator behind its schedule: p99 send lag 12.0 ms"],
    "thresholds": [{"threshold": "p(95)<2", "passed": False, "observed": 2.5,
                    "detail": "observed 2.5 ms, wanted < 2 ms"}],
    "unreachable": False,
}

GOLDEN = """\
http://127.0.0.1:8080/health  open model, 10.0s, 1 shard(s)
  requests 1000  errors 3  100.0 req/s (target 100.0/s, achieved 99.9/s)
  latency ms  mean 1.5  p50 1.2  p90 2.0  p95 2.5  p99 9.0  max 12.0
  service ms  mean 1.0  p50 0.9  p90 1.5  p95 2.0  p99 3.0  max 5.0
  errors      status_5xx: 2, timeout: 1
  dropped 0  late 4
  generator   cpu 12% (max 20%), send lag p99 0.2 ms
  NOT TRUSTWORTHY: generator behind its schedule: p99 send lag 12.0 ms
  FAIL p(95)<2: observed 2.5 ms, wanted < 2 ms
"""


def test_human_output_is_stable():
    import click

    @click.command()
    def show() -> None:
        _print_human(DOC)

    assert CliRunner().invoke(show).output == GOLDEN
