import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MeshError } from '../../../../regions/core/errors.js';
import { createLogger } from '../../../../regions/core/log.js';
import type { IncomingNumberRecord } from '../../../../regions/store/numbers.js';
import { meshRouting, staticMeshRouting } from '../../../../signaling/b2bua/mesh.js';
import { NumberHomes, type FindNumber } from '../../../../signaling/calls/number-homes.js';

const record = (phoneNumber: string, homeRegion: string): IncomingNumberRecord => ({
  sid: `PN${'1'.repeat(32)}`,
  accountSid: `AC${'2'.repeat(32)}`,
  phoneNumber,
  friendlyName: phoneNumber,
  applicationSid: `AP${'3'.repeat(32)}`,
  homeRegion,
  dateCreated: '',
  dateUpdated: '',
});

/** A tenant store in memory: numbers by E.164, and whether it answers. */
function fakeStore(): { numbers: Map<string, IncomingNumberRecord>; mode: 'up' | 'error' | 'hang'; find: FindNumber; reads: string[] } {
  const s = {
    numbers: new Map<string, IncomingNumberRecord>(),
    mode: 'up' as 'up' | 'error' | 'hang',
    reads: [] as string[],
    find: (dialed: string): Promise<IncomingNumberRecord | undefined> => {
      s.reads.push(dialed);
      if (s.mode === 'error') return Promise.reject(new MeshError('SERVICE_UNAVAILABLE', 'redis down'));
      if (s.mode === 'hang') return new Promise(() => {});
      return Promise.resolve(s.numbers.get(dialed));
    },
  };
  return s;
}

function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('debug', {}, (l) => lines.push(l)), lines };
}

describe('NumberHomes (dialed number → tenant home, cached per node)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('answers from tenant data and reuses the answer until the TTL passes, then sees a move', async () => {
    const store = fakeStore();
    store.numbers.set('+15557770001', record('+15557770001', 'eu-west'));
    const homes = new NumberHomes(store.find, createLogger('error'), { ttlMs: 2000 });

    expect(await homes.homeOf('+15557770001')).toEqual({
      accountSid: `AC${'2'.repeat(32)}`, numberSid: `PN${'1'.repeat(32)}`, applicationSid: `AP${'3'.repeat(32)}`, runsApplication: true, homeRegion: 'eu-west',
    });
    // Moved through the API: the node keeps its answer for at most the TTL…
    store.numbers.set('+15557770001', record('+15557770001', 'ap-south'));
    vi.advanceTimersByTime(1999);
    expect((await homes.homeOf('+15557770001'))?.homeRegion).toBe('eu-west');
    // …and sees the move right after, without a restart.
    vi.advanceTimersByTime(1);
    expect((await homes.homeOf('+15557770001'))?.homeRegion).toBe('ap-south');
    expect(store.reads).toEqual(['+15557770001', '+15557770001']);
  });

  it('caches "no tenant owns it" too, and one spelling with or without + is one entry', async () => {
    const store = fakeStore();
    const homes = new NumberHomes(store.find, createLogger('error'), { ttlMs: 2000 });
    expect(await homes.homeOf('+16665550000')).toBeUndefined();
    expect(await homes.homeOf('16665550000')).toBeUndefined();
    expect(store.reads).toEqual(['+16665550000']);
    // Provisioned later: found once the negative answer expires.
    store.numbers.set('+16665550000', record('+16665550000', 'eu-west'));
    vi.advanceTimersByTime(2000);
    expect((await homes.homeOf('16665550000'))?.homeRegion).toBe('eu-west');
  });

  it('reads the store once for a burst of lookups of one number', async () => {
    const store = fakeStore();
    store.numbers.set('+15557770001', record('+15557770001', 'eu-west'));
    const homes = new NumberHomes(store.find, createLogger('error'));
    const all = await Promise.all([1, 2, 3, 4, 5].map(() => homes.homeOf('+15557770001')));
    expect(all.map((h) => h?.homeRegion)).toEqual(['eu-west', 'eu-west', 'eu-west', 'eu-west', 'eu-west']);
    expect(store.reads).toHaveLength(1);
  });

  it('keeps at most maxEntries numbers, dropping the oldest first', async () => {
    const store = fakeStore();
    const homes = new NumberHomes(store.find, createLogger('error'), { maxEntries: 3 });
    for (const n of ['+1001', '+1002', '+1003', '+1004']) await homes.homeOf(n);
    expect(homes.size).toBe(3);
    await homes.homeOf('+1004'); // still cached
    expect(store.reads).toHaveLength(4);
    await homes.homeOf('+1001'); // evicted: read again
    expect(store.reads).toHaveLength(5);
    expect(homes.size).toBe(3);
  });

  it('ttlMs 0 reads the store on every call', async () => {
    const store = fakeStore();
    const homes = new NumberHomes(store.find, createLogger('error'), { ttlMs: 0 });
    await homes.homeOf('+1001');
    await homes.homeOf('+1001');
    expect(store.reads).toHaveLength(2);
    expect(homes.size).toBe(0);
  });

  it('a store that fails or hangs answers "unknown" (never rejects), logs once per outage, and is not cached', async () => {
    const store = fakeStore();
    store.numbers.set('+15557770001', record('+15557770001', 'eu-west'));
    const { log, lines } = capturingLogger();
    const homes = new NumberHomes(store.find, log, { timeoutMs: 500 });

    store.mode = 'error';
    expect(await homes.homeOf('+15557770001')).toBeUndefined();
    expect(await homes.homeOf('+15557770001')).toBeUndefined();
    store.mode = 'hang';
    const hung = homes.homeOf('+15557770001');
    vi.advanceTimersByTime(500);
    expect(await hung).toBeUndefined();
    expect(lines.filter((l) => l.includes('tenant numbers unreadable'))).toHaveLength(1);

    store.mode = 'up';
    expect((await homes.homeOf('+15557770001'))?.homeRegion).toBe('eu-west');
    expect(lines.filter((l) => l.includes('tenant numbers readable again'))).toHaveLength(1);
    store.mode = 'error';
    vi.advanceTimersByTime(2000);
    await homes.homeOf('+15557770001');
    expect(lines.filter((l) => l.includes('tenant numbers unreadable'))).toHaveLength(2);
  });

  it('ignores over-long or empty input without reading the store', async () => {
    const store = fakeStore();
    const homes = new NumberHomes(store.find, createLogger('error'));
    expect(await homes.homeOf('')).toBeUndefined();
    expect(await homes.homeOf('9'.repeat(200))).toBeUndefined();
    expect(store.reads).toHaveLength(0);
  });
});

describe('meshRouting (tenant data first, static rules for numbers no tenant owns)', () => {
  const fixed = staticMeshRouting({
    region: 'us-east',
    peers: [{ region: 'eu-west', address: '127.0.0.2', port: 5060 }, { region: 'ap-south', address: '127.0.0.3', port: 5060 }],
    homeRules: [{ prefix: '+1555', region: 'us-east' }, { prefix: '+91', region: 'ap-south' }],
  });

  it("a tenant's number is homed where its record says, over a static rule that matches it", async () => {
    const store = fakeStore();
    store.numbers.set('+15557770001', record('+15557770001', 'eu-west'));
    const mesh = meshRouting(fixed, new NumberHomes(store.find, createLogger('error')));
    expect(fixed.homeRegionOf('+15557770001')).toBe('us-east');
    expect(await mesh.homeRegionOf('+15557770001')).toBe('eu-west');
    // Carrier routes (no tenant): the static rules, or local when none matches.
    expect(await mesh.homeRegionOf('+918012345678')).toBe('ap-south');
    expect(await mesh.homeRegionOf('+15550000000')).toBe('us-east');
    expect(await mesh.homeRegionOf('+33123456789')).toBeUndefined();
    expect(mesh.signalingUri('eu-west')).toBe('sip:127.0.0.2:5060');
    expect(mesh.peerRegionOf('127.0.0.3')).toBe('ap-south');
  });

  it('says whether a number runs an application (VoiceApplicationSid or its own VoiceUrl); carrier numbers do not', async () => {
    const store = fakeStore();
    store.numbers.set('+15557770001', record('+15557770001', 'eu-west'));
    store.numbers.set('+15557770002', { ...record('+15557770002', 'eu-west'), applicationSid: undefined, voiceUrl: 'https://app.example/voice' });
    store.numbers.set('+15557770003', { ...record('+15557770003', 'eu-west'), applicationSid: undefined, voiceUrl: '' });
    const mesh = meshRouting(fixed, new NumberHomes(store.find, createLogger('error')));
    expect(await mesh.runsApplication('+15557770001')).toBe(true);
    expect(await mesh.runsApplication('+15557770002')).toBe(true);
    expect(await mesh.runsApplication('+15557770003')).toBe(false);
    expect(await mesh.runsApplication('+918012345678')).toBe(false);
    store.mode = 'error';
    expect(await meshRouting(fixed, new NumberHomes(store.find, createLogger('error'))).runsApplication('+15557770001')).toBe(false);
  });

  it('falls back to the static rules when the store fails', async () => {
    const store = fakeStore();
    store.numbers.set('+15557770001', record('+15557770001', 'eu-west'));
    store.mode = 'error';
    const mesh = meshRouting(fixed, new NumberHomes(store.find, createLogger('error')));
    expect(await mesh.homeRegionOf('+15557770001')).toBe('us-east');
  });
});
