#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages, npm packages, build.
# Safe to run again: installs only what is missing, re-runs `npm ci` only when the lockfile changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# rtpengine: media nodes; redis-server: state + discovery; etcd-server: discovery's second engine
# (leases + watch; the tests start their own member); sip-tester: SIPp for tests;
# kamailio: benchmark baseline; sox/espeak-ng: media conversion and TTS; procps: pgrep/ps for launch checks;
# chromium: browser-client tests (WebRTC through rtpengine, the softphone page) driven by playwright-core.
PACKAGES=(rtpengine-daemon redis-server etcd-server sip-tester kamailio sox espeak-ng procps ca-certificates chromium)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "setup: checking Debian packages: ${PACKAGES[*]}"
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  # Debian's packages may try to start their own services; we launch our own instances,
  # so keep package scripts from starting daemons during install.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && created_policy=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy"; fi
else
  echo "setup: Debian packages present"
fi

for bin in rtpengine redis-server etcd sipp node npm; do
  command -v "$bin" >/dev/null || { echo "setup: '$bin' not found after install" >&2; exit 1; }
done

# npm packages: only when package-lock.json changed since the last install.
stamp=node_modules/.package-lock.sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
# Without network npm would retry each fetch for minutes in silence: probe the registry first
# (5 s), and give npm's own fetches short retries.
NPM_FAST=(--no-audit --no-fund --fetch-retries=1 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000 --fetch-timeout=30000)
registry_reachable() {
  # Behind a proxy only npm knows how to get out: leave the verdict to its short retries.
  if [ -n "${HTTPS_PROXY:-}${https_proxy:-}${HTTP_PROXY:-}${http_proxy:-}" ] || [ -n "$(npm config get https-proxy 2>/dev/null | grep -v '^null$' || true)" ]; then return 0; fi
  node -e '
    const url = process.argv[1].replace(/\/?$/, "/-/ping");
    fetch(url, { signal: AbortSignal.timeout(5000) }).then(
      (r) => process.exit(r.status < 500 ? 0 : 1),
      (e) => { console.error(`setup: ${url}: ${e.cause?.code ?? e.name ?? e.message}`); process.exit(1); });
  ' "$1"
}
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  registry=$(npm config get registry)
  echo "setup: node_modules not up to date with package-lock.json; checking the npm registry ($registry, 5 s)"
  if registry_reachable "$registry"; then
    echo "setup: npm ci (fetch retries: 1, timeout 30 s)"
    npm ci "${NPM_FAST[@]}"
  else
    echo "setup: the npm registry is not reachable; trying npm's local cache only (npm ci --offline)"
    if ! npm ci --offline "${NPM_FAST[@]}"; then
      echo "setup: npm ci failed: no network to $registry and the local npm cache lacks packages of package-lock.json." >&2
      echo "setup: connect this machine to the network (or set HTTPS_PROXY / npm's registry to a reachable mirror) and run make again." >&2
      exit 1
    fi
  fi
  echo "$want" > "$stamp"
else
  echo "setup: node_modules up to date"
fi

echo "setup: building (npm run build → dist/, the softphone page → dist/client/)"
npm run -s build
echo "setup: done"
