import { describe, expect, it } from 'vitest';
import { MeshError } from '../../../../regions/core/errors.js';
import type { IncomingNumberRecord } from '../../../../regions/store/numbers.js';
import { NumberRecords } from '../../../../signaling/calls/number-records.js';

const record = (phoneNumber: string): IncomingNumberRecord => ({
  sid: `PN${'1'.repeat(32)}`,
  accountSid: `AC${'2'.repeat(32)}`,
  phoneNumber,
  friendlyName: phoneNumber,
  homeRegion: 'us-east',
  dateCreated: '',
  dateUpdated: '',
});

/** Numbers in memory; `fail` makes the next reads reject; every read is counted. */
function fakeStore() {
  const s = {
    numbers: new Map<string, IncomingNumberRecord>(),
    fail: false,
    reads: [] as string[],
    release: undefined as (() => void) | undefined,
    find: async (dialed: string): Promise<IncomingNumberRecord | undefined> => {
      s.reads.push(dialed);
      if (s.fail) throw new MeshError('SERVICE_UNAVAILABLE', 'redis down');
      const e164 = dialed.startsWith('+') ? dialed : `+${dialed}`;
      return s.numbers.get(e164);
    },
  };
  return s;
}

describe('NumberRecords (cached number lookup)', () => {
  it('reads the store once per number within the TTL, found or not, whichever spelling was dialed', async () => {
    let now = 1000;
    const store = fakeStore();
    store.numbers.set('+15550001', record('+15550001'));
    const records = new NumberRecords(store.find, { ttlMs: 2000, now: () => now });
    expect((await records.find('+15550001'))?.phoneNumber).toBe('+15550001');
    expect((await records.find('15550001'))?.phoneNumber).toBe('+15550001');
    expect(await records.find('+15559999')).toBeUndefined();
    expect(await records.find('+15559999')).toBeUndefined();
    expect(store.reads).toEqual(['+15550001', '+15559999']);
    expect(records.reads).toBe(2);
  });

  it('a change in the store is seen once the answer is older than the TTL', async () => {
    let now = 0;
    const store = fakeStore();
    const records = new NumberRecords(store.find, { ttlMs: 2000, now: () => now });
    expect(await records.find('+15550002')).toBeUndefined();
    store.numbers.set('+15550002', record('+15550002'));
    now = 1999;
    expect(await records.find('+15550002')).toBeUndefined();
    now = 2000;
    expect((await records.find('+15550002'))?.sid).toMatch(/^PN/);
  });

  it('ttlMs 0 reads the store every time', async () => {
    const store = fakeStore();
    const records = new NumberRecords(store.find, { ttlMs: 0 });
    await records.find('+15550003');
    await records.find('+15550003');
    expect(store.reads).toHaveLength(2);
    expect(records.size).toBe(0);
  });

  it('a store error rejects and is not cached', async () => {
    const store = fakeStore();
    store.fail = true;
    const records = new NumberRecords(store.find);
    await expect(records.find('+15550004')).rejects.toThrow('redis down');
    store.fail = false;
    store.numbers.set('+15550004', record('+15550004'));
    expect((await records.find('+15550004'))?.phoneNumber).toBe('+15550004');
    expect(store.reads).toHaveLength(2);
  });

  it('concurrent lookups of one number share one read', async () => {
    const store = fakeStore();
    const records = new NumberRecords(store.find);
    const all = await Promise.all([records.find('+15550005'), records.find('15550005'), records.find('+15550005')]);
    expect(all).toEqual([undefined, undefined, undefined]);
    expect(store.reads).toHaveLength(1);
  });

  it('keeps at most maxEntries numbers, dropping the oldest first', async () => {
    const store = fakeStore();
    const records = new NumberRecords(store.find, { maxEntries: 2 });
    await records.find('+1');
    await records.find('+2');
    await records.find('+3');
    expect(records.size).toBe(2);
    await records.find('+3');
    await records.find('+2');
    expect(store.reads).toEqual(['+1', '+2', '+3']);
    await records.find('+1');
    expect(store.reads).toEqual(['+1', '+2', '+3', '+1']);
  });

  it('an empty or overlong dialed string is nobody’s number, without a read', async () => {
    const store = fakeStore();
    const records = new NumberRecords(store.find);
    expect(await records.find('')).toBeUndefined();
    expect(await records.find('9'.repeat(40))).toBeUndefined();
    expect(store.reads).toHaveLength(0);
  });
});
