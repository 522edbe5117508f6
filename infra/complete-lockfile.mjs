#!/usr/bin/env node
// Why this exists: the npm registry reachable here serves only the linux-x64
// builds of packages that ship one binary package per platform (rollup's
// @rollup/rollup-<os>-<cpu>). `npm install` then leaves the other platforms'
// optional packages out of package-lock.json, and `npm ci` refuses the lock
// as "out of sync". This adds the missing optional entries with their os/cpu
// restrictions, so `npm ci` sees a complete lock and skips them on this
// platform, exactly as it would with a lock written where all were served.
// Run it after any `npm install` that rewrites the lock: node infra/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;

/** os / cpu / libc of a platform package, from its name's `<os>-<cpu>[-<abi>]` suffix. */
function platformOf(name) {
  const suffix = name.split('/').pop().replace(/^rollup-/, '');
  const [os, cpu, abi] = suffix.split('-');
  const cpuMap = { 'arm': 'arm', 'arm64': 'arm64', 'x64': 'x64', 'ia32': 'ia32', 'loong64': 'loong64', 'ppc64': 'ppc64', 'riscv64': 'riscv64', 's390x': 's390x' };
  const osMap = { win32: 'win32', darwin: 'darwin', linux: 'linux', android: 'android', freebsd: 'freebsd', openbsd: 'openbsd', openharmony: 'openharmony' };
  const entry = { os: [osMap[os] ?? os], cpu: [cpuMap[cpu] ?? cpu] };
  if (os === 'linux' && abi !== undefined) entry.libc = [abi.startsWith('musl') ? 'musl' : 'glibc'];
  return entry;
}

let added = 0;
for (const [key, meta] of Object.entries(pkgs)) {
  const optional = meta.optionalDependencies ?? {};
  for (const [dep, version] of Object.entries(optional)) {
    if (!dep.startsWith('@rollup/rollup-')) continue;
    const depKey = `node_modules/${dep}`;
    if (pkgs[depKey] !== undefined) continue;
    const p = platformOf(dep);
    pkgs[depKey] = { version, ...(p.cpu ? { cpu: p.cpu } : {}), dev: meta.dev === true ? true : undefined, ...(p.libc ? { libc: p.libc } : {}), license: 'MIT', optional: true, os: p.os };
    if (pkgs[depKey].dev === undefined) delete pkgs[depKey].dev;
    added++;
  }
}
// Keep npm's key order (sorted) so diffs stay small.
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`complete-lockfile: added ${added} platform-restricted optional entries`);
