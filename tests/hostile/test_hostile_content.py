"""Bodies and headers that crashed the run's own code (issue 14: "nothing a target does can hurt the
run"; found by a new round of hostile servers): JSON nested 100,000 deep (``RecursionError``: readiness
verdict "error", smoke crashed, exit 3), strings with lone surrogates (``UnicodeEncodeError`` when a
write probe echoed them), a 20,000-digit integer, a ``Location`` urllib cannot parse (``ValueError``),
and a brotli bomb (httpx inflated all 512 MiB: 763 MB RSS). One real ``perfcampaign run`` through
readiness, smoke, an API journey and load against :class:`~tests.hostile.servers.HostileServer`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.hostile.servers import HostileServer

ROOT = Path(__file__).resolve().parents[2]
GETS = ("deep-json", "bad-unicode", "huge-number", "brotli-bomb", "bad-location")


def campaign(url: str) -> str:
    endpoints = "\n".join(f"  - {{name: {b}, path: /{b}, expect: {{fields: [id]}}}}" for b in GETS)
    return f"""\
campaign: hostile-content
team: qa
environments:
  dev: {{kind: dev, base_url: "{url}"}}
endpoints:
{endpoints}
  - {{name: create, method: POST, path: /bad-location, body: {{name: x}}}}
  - {{name: ok, path: /ok, expect: {{status: [200], fields: [id]}}}}
readiness: {{timeout: 3s, samples: 2}}
smoke: {{timeout: 3s}}
e2e:
  options: {{request_timeout: 3s}}
  api_journeys:
    - name: api
      continue_on_failure: true
      steps: [{", ".join(f"{{endpoint: {b}, capture: {{v_{i}: id}}}}" for i, b in enumerate(GETS))}, {{endpoint: ok}}]
load:
  rate: 10
  duration: 1s
  timeout: 3s
  scenarios: [{{name: all, steps: [{", ".join(f"{{endpoint: {b}}}" for b in GETS)}, {{endpoint: ok}}]}}]
  thresholds: ["error_rate<=100%"]
"""


def test_hostile_bodies_fail_checks_but_never_the_run(tmp_path):
    with HostileServer() as server:
        path = tmp_path / "campaign.yaml"
        path.write_text(campaign(server.url))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("PREFECT_API_URL", None)
        proc = subprocess.run([sys.executable, "-m", "flows.cli", "run", str(path), "--env", "dev", "--no-prefect",
                               "--no-start", "--stages", "readiness,smoke,e2e,load", "--json", "-q",
                               "--warehouse", str(tmp_path / "w.duckdb")],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 1, proc.stderr[-3000:]          # checks failed (1), not an internal error (3)
    doc = json.loads(proc.stdout)
    env_doc = doc["environments"]["dev"]
    stages = {name: s["status"] for name, s in env_doc["stages"].items()}
    assert {"readiness", "smoke", "e2e", "load"} <= set(stages) and "error" not in stages.values(), stages
    endpoints = env_doc["endpoints"]
    for name, ep in endpoints.items():
        assert ep["verdict"] != "error", (name, ep["evidence"])
        assert ep["smoke"] is not None and ep["smoke"]["outcome"] != "error", (name, ep["smoke"])
    smoke = {name: ep["smoke"] for name, ep in endpoints.items()}
    assert smoke["deep-json"]["passed"] is False and "not JSON" in smoke["deep-json"]["failures"][0]
    assert smoke["brotli-bomb"]["passed"] is False           # 1 MiB of zeros at most: no id in it
    assert smoke["bad-unicode"]["passed"] is True and smoke["huge-number"]["passed"] is False
    assert smoke["bad-location"]["passed"] is True and smoke["ok"]["passed"] is True
    json.dumps(doc, ensure_ascii=False).encode("utf-8")        # every string can be written as UTF-8
