/**
 * API-originated calls on the signaling side: a `queued` call record plus an
 * `originate` command on the region's stream make the node ring a real SIPp
 * callee through rtpengine; status callbacks arrive signed, in order, with
 * the duration; hangup and busy end the call with the right status.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallRecordStore } from '../../../../regions/store/call-records.js';
import type { CallRecord } from '../../../../regions/store/call-records.js';
import { keys } from '../../../../regions/store/keys.js';
import { apiDate, type AccountRecord, type CallCommand } from '../../../../regions/store/schema.js';
import { usageField } from '../../../../regions/store/usage.js';
import { computeSignature } from '../../../../signaling/webhooks/signature.js';
import { waitFor } from '../../../support/wait.js';
import { startSipp, type SippInstance } from '../../../support/sipp.js';
import { CALLEE, startTestRegion, type TestRegion } from '../b2bua/harness.js';

const PREFIX = 'it-orig:';
const hex = (n: number): string => randomBytes(n).toString('hex');

interface Hit {
  path: string;
  params: Record<string, string>;
  signature: string | undefined;
}

describe('API-originated calls (signaling side)', () => {
  let region: TestRegion;
  let server: ServerType;
  let base: string;
  const hits: Hit[] = [];
  const account: AccountRecord = {
    sid: `AC${hex(16)}`,
    authToken: hex(16),
    friendlyName: 'originate test',
    status: 'active',
    homeRegion: 'us-east',
    dateCreated: apiDate(),
    dateUpdated: apiDate(),
  };

  beforeAll(async () => {
    region = await startTestRegion({ keyPrefix: PREFIX });
    await region.node.redis.set(keys(PREFIX).account(account.sid), JSON.stringify(account));
    const app = new Hono();
    app.post('*', async (c) => {
      const form = await c.req.parseBody();
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(form)) params[k] = String(v);
      hits.push({ path: new URL(c.req.url).pathname, params, signature: c.req.header('X-Twilio-Signature') });
      // The application keeps the call up (an empty document would hang it up at once).
      return c.body('<Response><Pause length="30"/></Response>', 200, { 'Content-Type': 'text/xml' });
    });
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await region?.close();
    await new Promise((r) => server?.close(r));
  });

  async function queueCall(over: Partial<CallRecord> = {}): Promise<CallRecord> {
    const rec: CallRecord = {
      sid: `CA${hex(16)}`,
      accountSid: account.sid,
      direction: 'outbound-api',
      from: '+15550001111',
      to: '+15557654321',
      status: 'queued',
      region: 'us-east',
      url: `${base}/voice`,
      method: 'POST',
      statusCallback: `${base}/status`,
      statusCallbackMethod: 'POST',
      statusCallbackEvents: ['initiated', 'ringing', 'answered', 'completed'],
      dateCreated: apiDate(),
      dateUpdated: apiDate(),
      ...over,
    };
    await new CallRecordStore(region.node.redis, PREFIX).save(rec);
    return rec;
  }

  const command = (cmd: CallCommand): Promise<unknown> =>
    region.node.redis.xadd(keys(PREFIX).commands('us-east'), '*', 'cmd', JSON.stringify(cmd));

  const recordOf = (sid: string): Promise<CallRecord | undefined> => new CallRecordStore(region.node.redis, PREFIX).get(sid);

  it('rings the callee, reports initiated → ringing → in-progress → completed with duration, signed', async () => {
    const uas: SippInstance = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 60_000 });
    await uas.ready;
    try {
      const rec = await queueCall();
      await command({ type: 'originate', callSid: rec.sid });
      await waitFor(async () => ((await recordOf(rec.sid))?.status === 'in-progress' ? true : undefined), 5000);
      await new Promise((r) => setTimeout(r, 1500));
      await command({ type: 'hangup', callSid: rec.sid });
      const done = await waitFor(async () => {
        const r = await recordOf(rec.sid);
        return r?.status === 'completed' ? r : undefined;
      }, 5000);
      expect(done.duration).toBeGreaterThanOrEqual(1);
      expect(done.startTime).toBeDefined();
      expect(done.endTime).toBeDefined();

      const callbacks = await waitFor(() => {
        const mine = hits.filter((h) => h.path === '/status' && h.params.CallSid === rec.sid);
        return mine.length >= 4 ? mine : undefined;
      }, 5000);
      expect(callbacks.map((h) => h.params.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
      expect(Number(callbacks[3]!.params.CallDuration)).toBeGreaterThanOrEqual(1);
      for (const h of callbacks) {
        expect(h.signature).toBe(computeSignature(account.authToken, `${base}/status`, h.params));
      }
      // The instruction URL was fetched once answered, signed the same way.
      const voice = hits.find((h) => h.path === '/voice' && h.params.CallSid === rec.sid);
      expect(voice?.params.CallStatus).toBe('in-progress');
      expect(voice?.signature).toBe(computeSignature(account.authToken, `${base}/voice`, voice!.params));
      // Usage was written: at least one outbound minute today in us-east.
      const usage = await region.node.redis.hget(keys(PREFIX).usage(account.sid), usageField({ category: 'calls-outbound', region: 'us-east', at: Date.now() }));
      expect(Number(usage)).toBeGreaterThanOrEqual(1);
    } finally {
      const res = await uas.stop(500);
      expect(res.successfulCalls).toBe(1); // the callee saw INVITE, ACK and our BYE
    }
  });

  it('busy callee: the call ends busy with SIP 486 and one completed callback', async () => {
    const uas = await startSipp({ scenario: 'uas-busy.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 60_000 });
    await uas.ready;
    try {
      const rec = await queueCall({ statusCallbackEvents: undefined });
      await command({ type: 'originate', callSid: rec.sid });
      const done = await waitFor(async () => {
        const r = await recordOf(rec.sid);
        return r?.status === 'busy' ? r : undefined;
      }, 5000);
      expect(done.sipResponseCode).toBe(486);
      const cbs = await waitFor(() => {
        const mine = hits.filter((h) => h.path === '/status' && h.params.CallSid === rec.sid);
        return mine.length >= 1 ? mine : undefined;
      }, 3000);
      expect(cbs.map((h) => h.params.CallStatus)).toEqual(['busy']);
    } finally {
      await uas.stop(500);
    }
  });

  it('hangup while ringing cancels the callee; the call ends canceled', async () => {
    const uas = await startSipp({ scenario: 'uas-ring.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 60_000 });
    await uas.ready;
    try {
      const rec = await queueCall();
      await command({ type: 'originate', callSid: rec.sid });
      await waitFor(async () => ((await recordOf(rec.sid))?.status === 'ringing' ? true : undefined), 5000);
      await command({ type: 'hangup', callSid: rec.sid });
      const done = await waitFor(async () => {
        const r = await recordOf(rec.sid);
        return r?.status === 'canceled' ? r : undefined;
      }, 5000);
      expect(done.duration).toBe(0);
    } finally {
      const res = await uas.stop(500);
      expect(res.successfulCalls).toBe(1); // uas-ring succeeds only when the CANCEL reached it
    }
  });

  it('a malformed command is dropped without stopping the consumer', async () => {
    await region.node.redis.xadd(keys(PREFIX).commands('us-east'), '*', 'cmd', '{"type":"explode","callSid":"nope"}');
    const rec = await queueCall({ to: '+4400000000' }); // no route
    await command({ type: 'originate', callSid: rec.sid });
    const done = await waitFor(async () => {
      const r = await recordOf(rec.sid);
      return r?.status === 'failed' ? r : undefined;
    }, 5000);
    expect(done.sipResponseCode).toBe(404);
    expect(region.node.commands.rejected).toBeGreaterThanOrEqual(1);
  });
});
