"""k6 points → the built-in engine's ShardResult: error kinds, histograms with the product's one
percentile definition, per-second series."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from tasks.k6.parse import Points, epoch, read_points, transport_kind
from tasks.load import histogram as H
from tasks.load.plan import PhasePlan, Plan, ScenarioPlan, StepPlan
from tasks.load.result import endpoint_table, merge_shards

PLAN = Plan(base_url="http://x", model="open",
            scenarios=(ScenarioPlan("s", 1, (StepPlan("list", "GET", "/l"), StepPlan("item", "GET", "/i"))),),
            phases=(PhasePlan("constant-arrival-rate", 3.0, rate=10),))


def point(metric: str, t: float, value: float, **tags) -> str:
    whole = int(t)
    stamp = f"2026-01-02T03:04:{5 + whole:02d}.{int(round((t - whole) * 1e9)):09d}Z"
    return json.dumps({"metric": metric, "type": "Point", "data": {"time": stamp, "value": value, "tags": tags}})


def req(t: float, ms: float, name: str, status: int = 200, ok: bool = True, code: str | None = None) -> str:
    tags = {"name": name, "status": str(status), "expected_response": "true" if ok else "false", "method": "GET",
            "scenario": "load"}
    if code:
        tags["error_code"] = code
    return point("http_req_duration", t, ms, **tags)


def test_epoch_reads_nanoseconds_and_offsets():
    assert epoch("2026-01-02T03:04:05.5Z") == pytest.approx(1767323045.5)
    assert epoch("2026-01-02T05:04:05.123456789+02:00") == pytest.approx(1767323045.123456789)


@pytest.mark.parametrize("code,kind", [("1050", "timeout"), ("1101", "dns"), ("1211", "connect_timeout"),
                                       ("1212", "connect_refused"), ("1220", "reset"), ("1210", "connect_error"),
                                       ("1310", "tls"), ("1000", "closed"), ("1600", "protocol"), (None, "protocol")])
def test_transport_error_codes(code, kind):
    assert transport_kind(code) == kind


def lines() -> list[str]:
    out = [point("perfcampaign_iterations_started", 0.0, 1, scenario="load")]
    lat = [2.0, 3.0, 4.0, 5.0, 50.0]
    for i, ms in enumerate(lat):                    # second 0..1: five list requests
        out.append(req(round(0.1 + i * 0.3, 3), ms, "list"))
        out.append(point("perfcampaign_failed", round(0.1 + i * 0.3, 3), 0, name="list"))
    out += [
        req(1.2, 7.0, "item", status=503, ok=False, code="1503"),
        point("perfcampaign_failed", 1.2, 1, name="item", kind="status"),
        req(1.4, 6.0, "item"),
        point("perfcampaign_failed", 1.4, 1, name="item", kind="expect"),      # a 200 whose fields were wrong
        req(2.5, 10000.0, "item", status=0, ok=False, code="1050"),          # a timeout keeps its latency
        req(2.6, 0.0, "item", status=0, ok=False, code="1212"),              # refused: no latency
        point("perfcampaign_failed", 2.7, 1, name="list", kind="template"),  # nothing sent
        req(0.05, 9.0, "perfcampaign-auth"),                                 # the setup sign-in: not an endpoint
        point("iterations", 2.9, 6, scenario="load"),
        point("perfcampaign_iterations_started", 1.0, 6, scenario="load"),
        point("dropped_iterations", 2.0, 2, scenario="load"),
        point("vus", 1.0, 3), point("vus", 2.0, 4),
        '{"type":"Metric","data":{"name":"vus"},"metric":"vus"}',
    ]
    return out


def test_points_become_a_shard_result_like_the_builtin_engine():
    pts = Points()
    pts.feed(lines())
    r = pts.result(PLAN, cpu=[(pts.t_first + 1.5, 0.5)], cores=2)
    by = {e.name: e for e in r.endpoints}
    assert list(by) == ["list", "item"]             # plan order; the auth request is not an endpoint
    assert (by["list"].requests, by["list"].errors, by["list"].errors_by_kind) == (6, 1, {"template": 1})
    assert (by["item"].requests, by["item"].errors) == (4, 4)
    assert by["item"].errors_by_kind == {"connect_refused": 1, "expect": 1, "status_5xx": 1, "timeout": 1}
    assert by["item"].status_codes == {"200": 1, "503": 1}
    # latency histograms hold the raw values: percentiles follow the product's one definition
    hist = H.decode(by["list"].latency)
    assert hist.total_count == 5 and by["list"].latency_sum_us == 64000
    expected = H.new_histogram()
    H.record_batch(expected, np.array([2000, 3000, 4000, 5000, 50000]))
    assert H.percentiles(hist) == H.percentiles(expected)
    assert H.decode(by["item"].latency).total_count == 3    # 503, 200 and the timeout; not the refused one
    assert (r.issued, r.iterations, r.dropped, r.interrupted) == (7, 6, 2, 1)
    assert r.planned == 30 and r.target_rate == 10 and r.vus_max == 4
    assert r.health.cpu_mean == 0.25                         # share of the machine (2 cores)
    # per-second series, endpoints and _overall
    overall = {row["second"]: row for row in r.series if row["endpoint"] == "_overall"}
    assert sorted(overall) == [0, 1, 2]
    assert overall[1]["requests"] == 4 and overall[1]["errors"] == 2 and overall[1]["vus"] == 3
    assert overall[1]["target_rate"] == 10 and overall[1]["cpu_percent"] == 25.0
    assert overall[2]["errors"] == 3                         # timeout, refused, template
    # the merge the load stage does gives the table the warehouse gets
    table = {row["name"]: row for row in endpoint_table(merge_shards([r]))}
    assert table["_overall"]["requests"] == 10 and table["_overall"]["errors"] == 5
    assert table["list"]["p50_ms"] == H.percentiles(expected, [50.0])[50.0] / 1000


def test_read_points_from_gzip_and_a_truncated_file(tmp_path):
    path = tmp_path / "points.json.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines()) + "\n")
    full = read_points(path)
    assert full.issued == 7
    raw = path.read_bytes()
    (tmp_path / "cut.json.gz").write_bytes(raw[: len(raw) // 2])
    read_points(tmp_path / "cut.json.gz")                    # keeps what it could read, never raises
    assert read_points(tmp_path / "absent.json.gz").issued == 0
