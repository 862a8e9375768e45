#!/usr/bin/env bash
# Installs the Debian packages perfcampaign needs when they are missing (CI runs on a clean machine).
#   chromium                 browser journeys (Playwright) and PNG rendering (kaleido)
#   nginx wrk                benchmark peers for the load engine
#   prometheus-pushgateway   Prometheus export tests
#   nodejs npm               the real mock tools of the readiness test bed (scripts/mock-tools.sh)
#   default-jre-headless     WireMock's standalone jar (the readiness test bed)
set -euo pipefail
want=(chromium nginx-light wrk prometheus-pushgateway)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nginx-light or nginx, whichever is present, satisfies the nginx need
if [[ " ${missing[*]} " == *" nginx-light "* ]] && command -v nginx >/dev/null; then
  missing=("${missing[@]/nginx-light}")
fi
# node and java may come from elsewhere (NodeSource, Temurin): any working command will do
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v java >/dev/null || missing+=(default-jre-headless)
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
((${#missing[@]})) || exit 0
SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts services on install; the project starts its own instances on its own ports.
for svc in nginx prometheus-pushgateway; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
