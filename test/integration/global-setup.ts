/**
 * Integration suites share one Redis (each file uses its own key prefix) and
 * one etcd (discovery's second engine; each file its own key prefix). Reuse
 * one already listening on the test port, else start a throwaway one (no
 * persistence for Redis, a temporary data folder for etcd) and stop it at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEtcd } from '../../infra/etcd.js';
import { ensureRedis } from '../../infra/redis.js';

/** Overridable so several test runs on one machine need not share (and stop) one Redis. */
export const TEST_REDIS_URL = process.env.MESH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6391';
/** The same for etcd (its peer port is the next one, 2392). */
export const TEST_ETCD_URL = process.env.MESH_TEST_ETCD_URL ?? 'http://127.0.0.1:2391';

export default async function setup(): Promise<() => Promise<void>> {
  const runDir = mkdtempSync(join(tmpdir(), 'mesh-it-'));
  const redis = await ensureRedis({ url: TEST_REDIS_URL, runDir, appendOnly: false });
  let etcd;
  try {
    etcd = await ensureEtcd({ url: TEST_ETCD_URL, dataDir: join(runDir, 'etcd'), logDir: join(runDir, 'logs') });
  } catch (e) {
    await redis?.stop(3000);
    throw e;
  }
  return async () => {
    await Promise.allSettled([redis?.stop(3000), etcd?.stop(3000)]);
    if (etcd !== null) rmSync(join(runDir, 'etcd'), { recursive: true, force: true });
  };
}
