/**
 * CallStore against real Redis: saves made close together go out in one
 * batch (one socket write), in order (an answered call's record, then its end), and a save
 * resolves false rather than throwing when Redis does not answer.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../../regions/core/log.js';
import { CallStore, type StoredCall } from '../../../../signaling/b2bua/call-store.js';
import { appendPlacementTrace, aliasPlacementTrace, readPlacementTrace } from '../../../../regions/store/placement-traces.js';
import { WriteBatcher } from '../../../../regions/store/write-batcher.js';
import { TEST_REDIS_URL } from '../../global-setup.js';
import { clearKeys } from '../../../support/redis-keys.js';

const PREFIX = 'it-call-store:';

const record = (sid: string, extra: Partial<StoredCall> = {}): StoredCall => ({
  callSid: sid,
  nodeId: 'node-1',
  region: 'us-east',
  state: 'answered',
  from: 'alice',
  to: '+15550001',
  aCallId: `a-${sid}`,
  bCallId: `b-${sid}`,
  mediaNodeId: 'media-1',
  createdAt: 1,
  answeredAt: 2,
  ...extra,
});

describe('CallStore', () => {
  let redis: Redis;

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    redis = new Redis(TEST_REDIS_URL);
    await redis.ping(); // connected: its socket exists
  });
  afterAll(() => redis.disconnect());

  it('saves within the batch window go out as one batch, in the order they were made', async () => {
    const writes = new WriteBatcher(redis, silentLogger, { batchMs: 20 });
    const store = new CallStore(redis, silentLogger, { keyPrefix: PREFIX, nodeId: 'node-1', batcher: writes });
    const sets = vi.spyOn(redis, 'set');
    const corks = vi.spyOn(redis.stream, 'cork');
    const saves = [
      store.save(record('CA1')),
      store.save(record('CA2')),
      store.save(record('CA1', { state: 'ended', endedAt: 3, endReason: 'bye-from-a' })),
    ];
    expect(sets).not.toHaveBeenCalled(); // nothing sent before the window closes
    expect(await Promise.all(saves)).toEqual([true, true, true]);
    // One batch, one corked socket write, the records in the order they were saved.
    expect(writes.stats.batches).toBe(1);
    expect(corks).toHaveBeenCalledTimes(1);
    expect(sets.mock.calls.map((c) => String(c[0]).slice(PREFIX.length))).toEqual(['call:CA1', 'call:CA2', 'call:CA1']);
    sets.mockRestore();
    corks.mockRestore();
    expect((await store.load('CA1'))?.endReason).toBe('bye-from-a');
    expect((await store.load('CA2'))?.state).toBe('answered');
    expect((await store.listActive()).sort()).toEqual(['CA2']);
    expect(store.writes).toBe(3);
    expect(store.failures).toBe(0);
  });

  it('a read through the store sends the waiting saves first: it sees its own writes', async () => {
    const store = new CallStore(redis, silentLogger, { keyPrefix: PREFIX, nodeId: 'node-4', batchMs: 60_000 });
    void store.save(record('CA7', { nodeId: 'node-4' }));
    expect(await store.listActive()).toEqual(['CA7']);
    void store.save(record('CA7', { nodeId: 'node-4', state: 'ended', endedAt: 5, endReason: 'bye-from-b' }));
    expect((await store.load('CA7'))?.endReason).toBe('bye-from-b');
    expect(await store.listActive()).toEqual([]);
  });

  it('the record is the call as it was when save() was called', async () => {
    const store = new CallStore(redis, silentLogger, { keyPrefix: PREFIX, nodeId: 'node-1', batchMs: 20 });
    const r = record('CA3');
    const saved = store.save(r);
    r.mediaNodeId = 'changed-after-save';
    expect(await saved).toBe(true);
    expect((await store.load('CA3'))?.mediaNodeId).toBe('media-1');
  });

  it('batchMs 0 writes at once; flush() sends a waiting batch now', async () => {
    const now = new CallStore(redis, silentLogger, { keyPrefix: PREFIX, nodeId: 'node-2', batchMs: 0 });
    const sets = vi.spyOn(redis, 'set');
    const saved = now.save(record('CA4', { nodeId: 'node-2' }));
    expect(sets).toHaveBeenCalledTimes(1);
    expect(await saved).toBe(true);
    const later = new CallStore(redis, silentLogger, { keyPrefix: PREFIX, nodeId: 'node-2', batchMs: 60_000 });
    const waiting = later.save(record('CA5', { nodeId: 'node-2' }));
    expect(sets).toHaveBeenCalledTimes(1);
    later.flush();
    expect(sets).toHaveBeenCalledTimes(2);
    sets.mockRestore();
    expect(await waiting).toBe(true);
    expect((await now.listActive()).sort()).toEqual(['CA4', 'CA5']);
  });

  it('a save to a Redis that does not answer resolves false within its timeout, counted as a failure', async () => {
    const dead = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: true, retryStrategy: () => null });
    dead.on('error', () => {}); // the refused connection is the point of this test
    const store = new CallStore(dead, silentLogger, { keyPrefix: PREFIX, nodeId: 'node-3', batchMs: 5, timeoutMs: 300 });
    const started = Date.now();
    expect(await store.save(record('CA6'))).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(store.failures).toBe(1);
    dead.disconnect();
  });

  it('a node-wide batcher carries call saves and placement traces in one batch; a refused command fails its batch, counted', async () => {
    const writes = new WriteBatcher(redis, silentLogger, { batchMs: 20 });
    const store = new CallStore(redis, silentLogger, { keyPrefix: PREFIX, nodeId: 'node-5', batcher: writes });
    const pushes = vi.spyOn(redis, 'rpush');
    const done = Promise.all([
      appendPlacementTrace(writes, PREFIX, 'a-CA8', { seq: 1, decision: 'local' }),
      store.save(record('CA8', { nodeId: 'node-5' })),
      aliasPlacementTrace(writes, PREFIX, 'CA8', 'a-CA8'),
    ]);
    expect(pushes).not.toHaveBeenCalled();
    await done;
    expect(pushes).toHaveBeenCalledTimes(1);
    pushes.mockRestore();
    expect(await readPlacementTrace(redis, PREFIX, 'CA8')).toEqual([{ seq: 1, decision: 'local' }]);
    expect(writes.stats).toMatchObject({ sent: 3, failed: 0, batches: 1, batchMs: 20 });

    // RPUSH onto a string key is refused (WRONGTYPE): the trace append rejects, its batch counts as failed.
    await redis.set(`${PREFIX}placements:not-a-list`, 'x');
    await expect(appendPlacementTrace(writes, PREFIX, 'not-a-list', { seq: 1 })).rejects.toThrow(/redis write failed/);
    expect(writes.stats.failed).toBe(1);
  });
});
