"""Screenshots of the Prefect UI as a user sees it: the custom-run form of the demo's deployment, and
the progress artifact and logs of a campaign while its load runs.

    .venv/bin/python scripts/prefect_ui_screenshots.py OUTDIR

Starts ``prefect server start`` (UI included) on a free loopback port with its own PREFECT_HOME,
applies ``flows/forms.py:demo`` as a deployment, opens its form in Chromium (Playwright on
/usr/bin/chromium), then runs a small campaign with a 50 s load against a shop on loopback and
screenshots the progress artifact mid-load and the flow run's logs; stops everything it started.
"""
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import sys
import threading
import time
from pathlib import Path

def main():
    ROOT = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    OUT = Path(sys.argv[1])
    OUT.mkdir(parents=True, exist_ok=True)


    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


    port = free_port()
    scratch = Path(tempfile.mkdtemp(prefix="perfcampaign-ui-"))
    home = scratch / "prefect-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_UI_API_URL=f"http://127.0.0.1:{port}/api", PREFECT_UI_URL=f"http://127.0.0.1:{port}")
    server = subprocess.Popen([str(ROOT / ".venv/bin/prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                               "--analytics-off"], env=env, stdout=open(scratch / "server.log", "w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    os.environ.update(PREFECT_HOME=str(home), PREFECT_API_URL=api, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    import httpx  # noqa: E402

    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, (scratch / "server.log").read_text()[-2000:]
            time.sleep(1)
        print("server up", api, flush=True)

        from flows.forms import demo

        async def apply():
            d = await demo.ato_deployment(name="campaign-adhoc", enforce_parameter_schema=True,
                                          parameters={"campaign_file": "campaigns/demo.yaml"},
                                          description="Run the demo campaign on demand; choose environments, stages "
                                                      "and the test type in the form.")
            return str(await d.apply())

        deployment_id = asyncio.run(apply())
        print("deployment", deployment_id, flush=True)

        from playwright.sync_api import sync_playwright

        from tests.loopback import serve
        from tests.shop import create_shop, shop_campaign

        form_done = threading.Event()
        shots = {}

        def browse():
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 1500})
                page.goto(f"http://127.0.0.1:{port}/deployments/deployment/{deployment_id}/run", wait_until="networkidle")
                page.wait_for_timeout(5000)
                page.screenshot(path=str(OUT / "prefect-form.png"), full_page=True)
                print("form screenshot", flush=True)
                form_done.set()
                artifact = None
                for _ in range(1200):
                    found = httpx.post(f"{api}/artifacts/filter", json={
                        "artifacts": {"key": {"any_": ["shop-api-progress"]}, "type": {"any_": ["progress"]}},
                        "sort": "CREATED_DESC", "limit": 1, "offset": 0}).json()
                    if found and 20 < float(found[0]["data"]) < 90 and "sustained" in (found[0].get("description") or ""):
                        artifact = found[0]
                        break
                    time.sleep(0.5)
                print("artifact", artifact and artifact["id"], artifact and artifact["data"], flush=True)
                if artifact:
                    shots["flow_run"] = artifact["flow_run_id"]
                    page.goto(f"http://127.0.0.1:{port}/artifacts/artifact/{artifact['id']}", wait_until="networkidle")
                    page.wait_for_timeout(3000)
                    page.screenshot(path=str(OUT / "prefect-progress-artifact.png"), full_page=True)
                    page.goto(f"http://127.0.0.1:{port}/runs/flow-run/{artifact['flow_run_id']}?tab=Artifacts",
                              wait_until="networkidle")
                    page.wait_for_timeout(3000)
                    page.screenshot(path=str(OUT / "prefect-flow-run-artifacts.png"), full_page=True)
                    page.goto(f"http://127.0.0.1:{port}/runs/flow-run/{artifact['flow_run_id']}?tab=Logs",
                              wait_until="networkidle")
                    page.wait_for_timeout(3000)
                    page.screenshot(path=str(OUT / "prefect-flow-run-logs.png"), full_page=True)
                shots["page"] = page
                shots["done"] = True
                while not shots.get("close"):
                    time.sleep(0.5)
                if shots.get("flow_run"):
                    page.goto(f"http://127.0.0.1:{port}/runs/flow-run/{shots['flow_run']}?tab=Logs",
                              wait_until="networkidle")
                    page.wait_for_timeout(3000)
                    page.screenshot(path=str(OUT / "prefect-flow-run-logs-final.png"), full_page=True)
                browser.close()

        browser_thread = threading.Thread(target=browse)
        browser_thread.start()
        form_done.wait(300)
        LOAD = """load:
      phases:
        - {name: warm-up, duration: 10s, arrival_rate: 10, ramp_to: 40}
        - {name: sustained, duration: 40s, arrival_rate: 40}
      scenarios:
        - {name: browse, weight: 1, steps: [{endpoint: list-products}, {endpoint: product}]}
      thresholds: ["p(95)<2000", "error_rate<1%"]
    """
        with serve(create_shop()) as shop:
            file = scratch / "shop.yaml"
            file.write_text(shop_campaign(shop, LOAD))
            from flows.campaign import campaign

            doc = asyncio.run(campaign(campaign_file=str(file), environments=["dev"], stages=["readiness", "smoke", "load"],
                                       warehouse=str(scratch / "w.duckdb"), trigger="manual"))
            print("run", doc["status"], flush=True)
        shots["close"] = True
        browser_thread.join(120)
        runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 20, "offset": 0}).json()
        print("flow runs:", [(r["name"], r["state_type"]) for r in runs], flush=True)
        print("done", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == '__main__':
    main()
