#!/usr/bin/env bash
# Installs the real public OpenAPI/Swagger documents of the importer corpus (tests/importers/corpus/
# openapi-examples: @readme/oas-examples, MIT), pinned by package-lock.json. Idempotent: a stamp newer
# than the manifest and lockfile means there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/../tests/importers/corpus/openapi-examples"
stamp=node_modules/.perfcampaign-installed
if [[ -f $stamp && $stamp -nt package.json && $stamp -nt package-lock.json ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "importer-corpus: npm not found (scripts/system-deps.sh installs it)" >&2; exit 1; }
echo "installing the importer corpus (npm ci in tests/importers/corpus/openapi-examples)" >&2
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
touch "$stamp"
