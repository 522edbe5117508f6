/**
 * etcd for discovery runs that ask for it (the integration tests; a local
 * mesh with discovery.kind etcd): reuse a member already answering at the
 * URL, otherwise start a single-member `etcd` (Debian `etcd-server`) on that
 * loopback address with its data in `dataDir`, its peer port one above the
 * client port.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnManaged, type ManagedProcess } from './process.js';

/** True when an etcd member answers GET /version at `url` within timeoutMs. */
export async function isEtcdReachable(url: string, timeoutMs = 500): Promise<boolean> {
  try {
    const res = await fetch(new URL('/version', url), { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return false;
    const body = (await res.json()) as { etcdserver?: unknown };
    return typeof body.etcdserver === 'string';
  } catch {
    return false;
  }
}

/**
 * Ensure etcd answers at `url` (http://host:port). Returns the process we
 * started, or null when an existing member was reused (then we must not stop it).
 */
export async function ensureEtcd(opts: { url: string; dataDir: string; logDir: string }): Promise<ManagedProcess | null> {
  if (await isEtcdReachable(opts.url)) return null;
  const u = new URL(opts.url);
  const host = u.hostname || '127.0.0.1';
  const port = u.port === '' ? 2379 : Number(u.port);
  const client = `http://${host}:${port}`;
  const peer = `http://${host}:${port + 1}`;
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const name = `etcd-${port}`;
  return spawnManaged({
    name,
    command: 'etcd',
    args: [
      '--name', name,
      '--data-dir', dir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `${name}=${peer}`,
      '--initial-cluster-state', 'new',
      // No metrics listener or profiling: only the two loopback ports above.
      '--enable-pprof=false',
    ],
    logFile: join(opts.logDir, `${name}.log`),
    isReady: () => isEtcdReachable(client, 300),
    readyTimeoutMs: 15000,
  });
}
