#!/usr/bin/env bash
# Installs the real mock servers the readiness test bed runs (tests/realbed/tools: Prism, json-server
# 0.17 and 1.x, Mockoon CLI, WireMock's standalone jar, Express), pinned by package-lock.json.
# Idempotent: a stamp newer than the manifest and lockfile means there is nothing to do.
# No browser is downloaded (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1); WireMock needs java (system-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../tests/realbed/tools"
stamp=node_modules/.perfcampaign-installed
if [[ -f $stamp && $stamp -nt package.json && $stamp -nt package-lock.json ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "mock-tools: npm not found (scripts/system-deps.sh installs it)" >&2; exit 1; }
echo "installing the readiness test bed's mock tools (npm ci in tests/realbed/tools)" >&2
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
npm ci --no-audit --no-fund --loglevel=error >/dev/null
touch "$stamp"
