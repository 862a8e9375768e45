#!/usr/bin/env bash
# Installs what the readiness test bed runs (tests/realbed/tools), each idempotent (a stamp newer
# than its manifest and lockfile means there is nothing to do):
#   node_modules/  Prism, json-server 0.17 and 1.x, Mockoon CLI, WireMock's standalone jar, Express,
#                  apimocker, swagger2openapi — pinned by package-lock.json (npm ci; no browser is downloaded)
#   pyapps/        real Python applications (Kinto) in their own virtualenv, hash-pinned by apps.lock
# WireMock needs java and the npm tools need node/npm: scripts/system-deps.sh installs them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/tests/realbed/tools"

stamp=node_modules/.perfcampaign-installed
if ! [[ -f $stamp && $stamp -nt package.json && $stamp -nt package-lock.json ]]; then
  command -v npm >/dev/null || { echo "mock-tools: npm not found (scripts/system-deps.sh installs it)" >&2; exit 1; }
  echo "installing the readiness test bed's mock tools (npm ci in tests/realbed/tools)" >&2
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch "$stamp"
fi

stamp=pyapps/.perfcampaign-installed
if ! [[ -f $stamp && $stamp -nt apps.lock ]]; then
  echo "installing the readiness test bed's real applications (tests/realbed/tools/pyapps)" >&2
  python3 -m venv pyapps
  uv="$root/.venv/bin/uv"
  [[ -x $uv ]] || { pyapps/bin/python -m pip install -q --disable-pip-version-check uv; uv=pyapps/bin/uv; }
  "$uv" pip install -q --python pyapps/bin/python --require-hashes -r apps.lock
  touch "$stamp"
fi
