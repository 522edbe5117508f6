/**
 * Integration suites share one Redis (each file uses its own key prefix).
 * Reuse one already listening on the test port, else start a throwaway one
 * (no persistence) and stop it at the end.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRedis } from '../../infra/redis.js';

/** Overridable so several test runs on one machine need not share (and stop) one Redis. */
export const TEST_REDIS_URL = process.env.MESH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6391';

export default async function setup(): Promise<() => Promise<void>> {
  const runDir = mkdtempSync(join(tmpdir(), 'mesh-it-'));
  const proc = await ensureRedis({ url: TEST_REDIS_URL, runDir, appendOnly: false });
  return async () => {
    await proc?.stop(3000);
  };
}
