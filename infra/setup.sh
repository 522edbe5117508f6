#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages, npm packages, build.
# Safe to run again: installs only what is missing, re-runs `npm ci` only when the lockfile changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# rtpengine: media nodes; redis-server: state + discovery; etcd-server: discovery's second engine
# (leases + watch; the tests start their own member); sip-tester: SIPp for tests;
# kamailio: benchmark baseline; sox/espeak-ng: media conversion and TTS; procps: pgrep/ps for launch checks.
PACKAGES=(rtpengine-daemon redis-server etcd-server sip-tester kamailio sox espeak-ng procps ca-certificates)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

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
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
else
  echo "setup: node_modules up to date"
fi

echo "setup: building"
npm run -s build
