/**
 * Queue state shared by the call side (RedisCallQueues) and the control
 * plane's Queues API — real Redis, real API server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isMeshError, MeshError } from '../../../../regions/core/errors.js';
import { RedisCallQueues } from '../../../../regions/store/call-queues.js';
import { QueueStore } from '../../../../regions/store/queues.js';
import { keys } from '../../../../regions/store/keys.js';
import type { CallQueues } from '../../../../signaling/router/leg.js';
import { startApiHarness, type ApiHarness } from '../../control-plane/api-harness.js';

let h: ApiHarness;
/** One clock for both sides, so waits are exact. */
let clockMs = Date.parse('2026-05-01T12:00:00Z');
let queues: RedisCallQueues;
const A = () => `/2010-04-01/Accounts/${h.account.sid}`;
let seq = 0;
const callSid = () => `CA${(++seq).toString(16).padStart(32, '0')}`;

beforeAll(async () => {
  h = await startApiHarness('it-queues:', { now: () => new Date(clockMs), rateLimit: { requestsPerSecond: 10_000, burst: 10_000 } });
  queues = new RedisCallQueues(h.redis, h.prefix, { now: () => clockMs });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  clockMs += 3_600_000;
});

async function rejection(p: Promise<unknown>): Promise<MeshError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MeshError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('RedisCallQueues', () => {
  it('matches the router\'s CallQueues interface', () => {
    const asInterface: CallQueues = queues;
    expect(typeof asInterface.dequeueFront).toBe('function');
  });

  it('creates a missing queue (MaxSize 100) on enqueue and gives 1-based positions', async () => {
    const calls = [callSid(), callSid(), callSid()];
    const places = [];
    for (const c of calls) places.push(await queues.enqueue(h.account.sid, 'support', c));
    expect(places.map((p) => [p.position, p.size])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    const sid = places[0]!.queueSid;
    expect(sid).toMatch(/^QU[0-9a-f]{32}$/);
    expect(new Set(places.map((p) => p.queueSid))).toEqual(new Set([sid]));
    const api = await h.req('GET', `${A()}/Queues/${sid}.json`);
    expect(api.body).toMatchObject({ friendly_name: 'support', max_size: 100, current_size: 3 });
    expect(await queues.position(sid, calls[2]!)).toEqual({ queueSid: sid, position: 3, size: 3 });
    // A call already waiting keeps its place.
    expect(await queues.enqueue(h.account.sid, 'support', calls[0]!)).toEqual({ queueSid: sid, position: 1, size: 3 });
  });

  it('creates one queue when parallel enqueues race to create it', async () => {
    const places = await Promise.all(Array.from({ length: 10 }, () => queues.enqueue(h.account.sid, 'race', callSid())));
    expect(new Set(places.map((p) => p.queueSid)).size).toBe(1);
    expect(places.map((p) => p.position).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const listed = (await h.req('GET', `${A()}/Queues.json?PageSize=1000`)).body.queues.filter((q: { friendly_name: string }) => q.friendly_name === 'race');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ sid: places[0]!.queueSid, current_size: 10 });
  });

  it('refuses empty and over-long queue names', async () => {
    expect((await rejection(queues.enqueue(h.account.sid, '', callSid()))).code).toBe('BAD_REQUEST');
    expect((await rejection(queues.enqueue(h.account.sid, 'x'.repeat(65), callSid()))).code).toBe('BAD_REQUEST');
  });

  it('keeps arrival order when the clock does not move (FIFO, not CallSid order)', async () => {
    const frozen = new RedisCallQueues(h.redis, h.prefix, { now: () => clockMs });
    const calls = ['CAffff', 'CAaaaa', 'CAcccc', 'CA0000'].map((p) => p.padEnd(34, '0'));
    for (const c of calls) await frozen.enqueue(h.account.sid, 'same-ms', c);
    const sid = (await frozen.position((await new QueueStore(h.redis, h.prefix).sidByName(h.account.sid, 'same-ms'))!, calls[0]!))!.queueSid;
    const members = (await h.req('GET', `${A()}/Queues/${sid}/Members.json`)).body.queue_members;
    expect(members.map((m: { call_sid: string; position: number }) => [m.call_sid, m.position])).toEqual(calls.map((c, i) => [c, i + 1]));
    for (const c of calls) expect((await frozen.dequeueFront(h.account.sid, 'same-ms'))?.callSid).toBe(c);
  });

  it('enforces MaxSize atomically: 20 parallel enqueues on MaxSize 10 → exactly 10 succeed', async () => {
    const q = (await h.req('POST', `${A()}/Queues.json`, { form: { FriendlyName: 'small', MaxSize: '10' } })).body;
    const calls = Array.from({ length: 20 }, () => callSid());
    const results = await Promise.allSettled(calls.map((c) => queues.enqueue(h.account.sid, 'small', c)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(ok).toHaveLength(10);
    expect(failed).toHaveLength(10);
    for (const e of failed) {
      expect(isMeshError(e, 'CONFLICT')).toBe(true);
      expect((e as MeshError).detail?.['queueFull']).toBe(true);
    }
    // The API-created queue is the one the call side joined (name index), and its positions are 1..10.
    const positions = ok.map((r) => (r as PromiseFulfilledResult<{ queueSid: string; position: number }>).value);
    expect(new Set(positions.map((p) => p.queueSid))).toEqual(new Set([q.sid]));
    expect(positions.map((p) => p.position).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await h.redis.zcard(keys(h.prefix).queueMembers(q.sid))).toBe(10);
    expect((await h.req('GET', `${A()}/Queues/${q.sid}.json`)).body.current_size).toBe(10);
  });

  it('dequeueFront is atomic: 10 parallel dequeuers on 5 members → 5 distinct calls and 5 undefined', async () => {
    const calls = Array.from({ length: 5 }, () => callSid());
    for (const c of calls) {
      await queues.enqueue(h.account.sid, 'agents', c);
      clockMs += 1000;
    }
    const results = await Promise.all(Array.from({ length: 10 }, () => queues.dequeueFront(h.account.sid, 'agents')));
    const got = results.filter((r) => r !== undefined);
    expect(got).toHaveLength(5);
    expect(results.filter((r) => r === undefined)).toHaveLength(5);
    expect(new Set(got.map((r) => r!.callSid))).toEqual(new Set(calls));
    // The first caller waited longest: 5 s on this clock.
    const first = got.find((r) => r!.callSid === calls[0])!;
    expect(first.waitedMs).toBe(5000);
    expect(await queues.dequeueFront(h.account.sid, 'agents')).toBeUndefined();
    expect(await queues.dequeueFront(h.account.sid, 'no-such-queue')).toBeUndefined();
  });

  it('leave moves later calls up and is idempotent', async () => {
    const calls = [callSid(), callSid(), callSid()];
    let sid = '';
    for (const c of calls) sid = (await queues.enqueue(h.account.sid, 'leavers', c)).queueSid;
    await queues.leave(sid, calls[1]!);
    await queues.leave(sid, calls[1]!);
    expect(await queues.position(sid, calls[1]!)).toBeUndefined();
    expect(await queues.position(sid, calls[2]!)).toEqual({ queueSid: sid, position: 2, size: 2 });
    const members = (await h.req('GET', `${A()}/Queues/${sid}/Members.json`)).body.queue_members;
    expect(members.map((m: { call_sid: string; position: number }) => [m.call_sid, m.position])).toEqual([
      [calls[0], 1],
      [calls[2], 2],
    ]);
    await queues.leave(sid, calls[0]!);
    await queues.leave(sid, calls[2]!);
    await queues.leave(sid, calls[2]!);
    expect((await h.req('GET', `${A()}/Queues/${sid}.json`)).body).toMatchObject({ current_size: 0, average_wait_time: 0 });
  });

  it('keeps CurrentSize and AverageWaitTime of the Queue resource from the live state', async () => {
    const calls = [callSid(), callSid(), callSid()];
    const start = clockMs;
    let sid = '';
    for (const c of calls) {
      sid = (await queues.enqueue(h.account.sid, 'timed', c)).queueSid;
      clockMs += 10_000;
    }
    // Waits now: 30 s, 20 s, 10 s.
    expect(clockMs - start).toBe(30_000);
    expect(await queues.waitStats(sid)).toEqual({ size: 3, averageWaitMs: 20_000 });
    expect((await h.req('GET', `${A()}/Queues/${sid}.json`)).body).toMatchObject({ current_size: 3, average_wait_time: 20 });
    expect((await queues.dequeueFront(h.account.sid, 'timed'))?.waitedMs).toBe(30_000);
    expect((await h.req('GET', `${A()}/Queues.json`)).body.queues.find((q: { sid: string }) => q.sid === sid)).toMatchObject({
      current_size: 2,
      average_wait_time: 15,
    });
    const members = (await h.req('GET', `${A()}/Queues/${sid}/Members.json`)).body.queue_members;
    expect(members.map((m: { wait_time: number; position: number }) => [m.position, m.wait_time])).toEqual([
      [1, 20],
      [2, 10],
    ]);
  });

  it('rebuilds the wait statistics from members written without them', async () => {
    const store = new QueueStore(h.redis, h.prefix);
    const sid = (await queues.enqueue(h.account.sid, 'legacy', callSid())).queueSid;
    await queues.leave(sid, (await store.members(sid, 0, 1))[0]!.callSid);
    const k = keys(h.prefix);
    await h.redis.zadd(k.queueMembers(sid), clockMs - 40_000, callSid(), clockMs - 20_000, callSid());
    expect(await h.redis.exists(k.queueWaitStats(sid))).toBe(0);
    expect(await queues.waitStats(sid)).toEqual({ size: 2, averageWaitMs: 30_000 });
    await queues.enqueue(h.account.sid, 'legacy', callSid());
    expect(await queues.waitStats(sid)).toEqual({ size: 3, averageWaitMs: 20_000 });
  });
});

describe('Queues API and the call side see one state', () => {
  it('dequeues through the API (Front and by CallSid): the call side sees the call gone, a second dequeue finds nothing', async () => {
    const calls = [callSid(), callSid(), callSid()];
    let sid = '';
    for (const c of calls) sid = (await queues.enqueue(h.account.sid, 'api-view', c)).queueSid;
    const front = await h.req('POST', `${A()}/Queues/${sid}/Members/Front.json`, { form: { Url: 'http://127.0.0.1:9/agent' } });
    expect(front.body).toMatchObject({ call_sid: calls[0], position: 1 });
    expect(await queues.position(sid, calls[0]!)).toBeUndefined();
    const byCall = await h.req('POST', `${A()}/Queues/${sid}/Members/${calls[2]}.json`, { form: { Url: 'http://127.0.0.1:9/agent' } });
    expect(byCall.body).toMatchObject({ call_sid: calls[2], position: 2 });
    expect((await h.req('POST', `${A()}/Queues/${sid}/Members/${calls[2]}.json`, { form: { Url: 'http://127.0.0.1:9/a' } })).status).toBe(404);
    expect(await queues.position(sid, calls[1]!)).toEqual({ queueSid: sid, position: 1, size: 1 });
    expect((await h.req('GET', `${A()}/Queues/${sid}/Members/Front.json`)).body.call_sid).toBe(calls[1]);
    expect((await h.commands()).filter((c) => c.type === 'redirect').map((c) => c.callSid)).toEqual(expect.arrayContaining([calls[0], calls[2]]));
  });

  it('pages members with correct positions', async () => {
    const calls = Array.from({ length: 5 }, () => callSid());
    let sid = '';
    for (const c of calls) sid = (await queues.enqueue(h.account.sid, 'paged', c)).queueSid;
    const page1 = await h.req('GET', `${A()}/Queues/${sid}/Members.json?PageSize=2&Page=1`);
    expect(page1.body.queue_members.map((m: { call_sid: string; position: number }) => [m.call_sid, m.position])).toEqual([
      [calls[2], 3],
      [calls[3], 4],
    ]);
    expect(page1.body.next_page_uri).not.toBeNull();
    const page2 = await h.req('GET', `${A()}/Queues/${sid}/Members.json?PageSize=2&Page=2`);
    expect(page2.body.queue_members.map((m: { position: number }) => m.position)).toEqual([5]);
    expect(page2.body.next_page_uri).toBeNull();
  });

  it('keeps the name index in step with create, rename and delete; names are unique per account', async () => {
    const q = (await h.req('POST', `${A()}/Queues.json`, { form: { FriendlyName: 'billing' } })).body;
    const dup = await h.req('POST', `${A()}/Queues.json`, { form: { FriendlyName: 'billing' } });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toContain('billing');
    const c1 = callSid();
    expect((await queues.enqueue(h.account.sid, 'billing', c1)).queueSid).toBe(q.sid);

    expect((await h.req('POST', `${A()}/Queues/${q.sid}.json`, { form: { FriendlyName: 'invoices' } })).body.friendly_name).toBe('invoices');
    expect((await queues.dequeueFront(h.account.sid, 'invoices'))?.callSid).toBe(c1);
    expect(await queues.dequeueFront(h.account.sid, 'billing')).toBeUndefined();
    const other = (await h.req('POST', `${A()}/Queues.json`, { form: { FriendlyName: 'billing' } })).body;
    expect(other.sid).not.toBe(q.sid);
    expect((await h.req('POST', `${A()}/Queues/${q.sid}.json`, { form: { FriendlyName: 'billing' } })).status).toBe(409);

    // Delete is refused while a call waits (409), and frees the name once empty.
    const c2 = callSid();
    await queues.enqueue(h.account.sid, 'invoices', c2);
    expect((await h.req('DELETE', `${A()}/Queues/${q.sid}.json`)).status).toBe(409);
    await queues.leave(q.sid, c2);
    expect((await h.req('DELETE', `${A()}/Queues/${q.sid}.json`)).status).toBe(204);
    expect(await new QueueStore(h.redis, h.prefix).sidByName(h.account.sid, 'invoices')).toBeUndefined();
    const again = await queues.enqueue(h.account.sid, 'invoices', callSid());
    expect(again.queueSid).not.toBe(q.sid);
    expect(again).toMatchObject({ position: 1, size: 1 });
  });

  it('lets MaxSize set through the API bound the call side', async () => {
    const sid = (await queues.enqueue(h.account.sid, 'resized', callSid())).queueSid;
    await queues.enqueue(h.account.sid, 'resized', callSid());
    expect((await h.req('POST', `${A()}/Queues/${sid}.json`, { form: { MaxSize: '2' } })).body.max_size).toBe(2);
    const full = await rejection(queues.enqueue(h.account.sid, 'resized', callSid()));
    expect(full.code).toBe('CONFLICT');
    expect(full.detail).toMatchObject({ queueFull: true, queueSid: sid, maxSize: 2 });
  });

  it('recreates a queue whose name entry outlived its record', async () => {
    const sid = (await queues.enqueue(h.account.sid, 'orphan', callSid())).queueSid;
    await h.redis.del(keys(h.prefix).queue(sid));
    const place = await queues.enqueue(h.account.sid, 'orphan', callSid());
    expect(place.queueSid).not.toBe(sid);
    expect(place).toMatchObject({ position: 1, size: 1 });
  });

  it('separates accounts: the same name is another queue, and another tenant\'s queue is 404', async () => {
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { form: {} })).body;
    const mine = (await queues.enqueue(h.account.sid, 'shared-name', callSid())).queueSid;
    const theirs = (await queues.enqueue(sub.sid, 'shared-name', callSid())).queueSid;
    expect(theirs).not.toBe(mine);
    expect((await h.req('GET', `/2010-04-01/Accounts/${sub.sid}/Queues/${mine}.json`, { auth: [sub.sid, sub.auth_token] })).status).toBe(404);
  });
});
