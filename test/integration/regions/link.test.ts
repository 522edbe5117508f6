/**
 * Region links over real TCP on 127.0.9.x: request/reply both ways, timeouts,
 * fail-fast while down, a server process killed with SIGKILL (reconnect and
 * flush of queued messages), a frozen peer (SIGSTOP) caught by heartbeats,
 * and close() semantics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MeshError, isMeshError } from '../../../regions/core/errors.js';
import { RegionLinkClient } from '../../../regions/link/client.js';
import { expectBody } from '../../../regions/link/body.js';
import { RegionLinkServer, type LinkSession } from '../../../regions/link/server.js';
import type { RegionLinkClientOptions } from '../../../regions/link/types.js';
import { startChildServer, sleep, waitFor, type ChildServer } from './helpers.js';

const HOST = '127.0.9.1';
const FAST = { heartbeatIntervalMs: 100, deadPeerTimeoutMs: 600, handshakeTimeoutMs: 1000 };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function client(port: number, extra: Partial<RegionLinkClientOptions> = {}): RegionLinkClient {
  const c = new RegionLinkClient({
    host: HOST,
    port,
    localAddress: '127.0.9.2',
    region: 'eu-west',
    nodeId: 'eu-west-sig-1',
    backoff: { initialMs: 50, maxMs: 300, jitter: 0.2 },
    ...FAST,
    ...extra,
  });
  cleanups.push(() => c.close());
  return c;
}

async function server(onRequest?: ConstructorParameters<typeof RegionLinkServer>[0]['onRequest']): Promise<{ s: RegionLinkServer; port: number }> {
  const s = new RegionLinkServer({ host: HOST, port: 0, region: 'us-east', nodeId: 'us-east-sig-1', ...FAST, ...(onRequest ? { onRequest } : {}) });
  cleanups.push(() => s.close());
  const { port } = await s.listen();
  return { s, port };
}

const placement = (callSid: string) => ({ type: 'placementRequest' as const, value: { callSid, mediaRegion: 'eu-west', homeRegion: 'us-east', capability: 'record' } });

describe('region link', () => {
  it('carries requests and replies both ways, plus events, and exchanges hellos', async () => {
    const { s, port } = await server((body, ctx) => {
      if (body.type === 'placementRequest' && body.value.callSid === 'CA-missing') throw new MeshError('NOT_FOUND', 'no such call');
      if (body.type !== 'placementRequest') throw new Error('unexpected');
      return {
        type: 'placementDecision',
        value: { callSid: body.value.callSid, kind: 'CENTRAL_BRANCH', region: ctx.peer.region, trace: [{ rule: 'central', matched: true, detail: 'home stores' }] },
      };
    });
    const sessions: LinkSession[] = [];
    const serverEvents: string[] = [];
    s.on('connected', (sess) => sessions.push(sess));
    s.on('event', (body, sess) => serverEvents.push(`${body.type}:${sess.peer.nodeId}`));

    const c = client(port, {
      onRequest: (body) => {
        if (body.type !== 'branchSetup') throw new MeshError('BAD_REQUEST', 'no');
        return { type: 'branchAck', value: { branchId: body.value.branchId, status: 'ACCEPTED', receivePort: 41000 } };
      },
    });
    const clientEvents: string[] = [];
    c.on('event', (body) => clientEvents.push(body.type));
    c.start();
    await c.waitConnected(3000);
    expect(c.peer).toMatchObject({ region: 'us-east', nodeId: 'us-east-sig-1', protocolVersion: 1 });

    const reply = await c.request(placement('CA1'), { timeoutMs: 2000 });
    const decision = expectBody(reply, 'placementDecision');
    expect(decision).toMatchObject({ callSid: 'CA1', kind: 'CENTRAL_BRANCH', region: 'eu-west' });
    expect(decision.trace).toEqual([{ rule: 'central', matched: true, detail: 'home stores' }]);

    await expect(c.request(placement('CA-missing'), { timeoutMs: 2000 })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'NOT_FOUND'));

    // Many requests at once are matched to their own replies.
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => c.request(placement(`CA-${i}`), { timeoutMs: 2000 })));
    expect(many.map((b) => expectBody(b, 'placementDecision').callSid)).toEqual(Array.from({ length: 50 }, (_, i) => `CA-${i}`));

    await waitFor(() => sessions.length === 1, 1000, 'server session');
    const session = sessions[0] as LinkSession;
    expect(session.peer).toMatchObject({ region: 'eu-west', nodeId: 'eu-west-sig-1' });
    const ack = expectBody(await session.request({ type: 'branchSetup', value: { branchId: 'BR1' } }, { timeoutMs: 2000 }), 'branchAck');
    expect(ack).toMatchObject({ branchId: 'BR1', status: 'ACCEPTED', receivePort: 41000 });

    c.send({ type: 'callEvent', value: { callSid: 'CA1', type: 'ANSWERED' } });
    session.send({ type: 'nodeAnnouncement', value: { nodeId: 'us-east-media-1', state: 'UP' } });
    await waitFor(() => serverEvents.length === 1 && clientEvents.length === 1, 2000, 'events both ways');
    expect(serverEvents).toEqual(['callEvent:eu-west-sig-1']);
    expect(clientEvents).toEqual(['nodeAnnouncement']);
    expect(c.pendingRequests).toBe(0);
  });

  it('times out a request the peer never answers, and later replies are ignored', async () => {
    const { port } = await server(async () => {
      await sleep(700);
      return { type: 'placementDecision', value: {} };
    });
    const c = client(port).start();
    await c.waitConnected(3000);
    const t0 = Date.now();
    await expect(c.request(placement('CA1'), { timeoutMs: 200 })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'UPSTREAM_TIMEOUT'));
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(450);
    expect(c.pendingRequests).toBe(0);
    await sleep(700); // the late reply arrives and must not break anything
    expect(c.isConnected).toBe(true);
  });

  it('while down: fails fast unless queueWhileDown, and bounds the queue', async () => {
    const c = client(1, { queue: { maxItems: 2 } }); // nothing listens on port 1
    c.start();
    const t0 = Date.now();
    await expect(c.request(placement('CA1'), { timeoutMs: 5000 })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'TRANSPORT_ERROR'));
    expect(() => c.send({ type: 'callEvent', value: { callSid: 'x' } })).toThrow(expect.objectContaining({ code: 'TRANSPORT_ERROR' }));
    expect(Date.now() - t0).toBeLessThan(50);

    c.send({ type: 'callEvent', value: { callSid: 'q1' } }, { queueWhileDown: true });
    const queuedReq = c.request(placement('q2'), { timeoutMs: 300, queueWhileDown: true });
    expect(() => c.send({ type: 'callEvent', value: { callSid: 'q3' } }, { queueWhileDown: true })).toThrow(
      expect.objectContaining({ code: 'SERVICE_UNAVAILABLE' }),
    );
    // A queued request still has its deadline, and leaves the queue when it passes.
    await expect(queuedReq).rejects.toSatisfy((e: unknown) => isMeshError(e, 'UPSTREAM_TIMEOUT'));
    expect(c.queuedMessages).toBe(1);
  });

  it('reconnects after the server process is SIGKILLed and flushes queued messages in order', async () => {
    let child: ChildServer = await startChildServer(HOST, 0);
    const port = child.port;
    cleanups.push(() => child.kill('SIGKILL'));
    const c = client(port);
    const states: string[] = [];
    c.on('connected', () => states.push('up'));
    c.on('disconnected', (reason) => states.push(`down:${reason.code}`));
    // A throwing listener must not crash the client.
    c.onListenerError = () => undefined;
    c.on('connected', () => {
      throw new Error('listener bug');
    });
    c.start();
    await c.waitConnected(3000);
    expect(expectBody(await c.request(placement('before'), { timeoutMs: 2000 }), 'placementDecision').callSid).toBe('before');

    await child.kill('SIGKILL');
    await waitFor(() => !c.isConnected, 2000, 'disconnect noticed');
    expect(states).toEqual(['up', 'down:TRANSPORT_ERROR']);

    c.send({ type: 'callEvent', value: { callSid: 'q1' } }, { queueWhileDown: true });
    const queued = c.request(placement('q2'), { timeoutMs: 20_000, queueWhileDown: true });
    c.send({ type: 'callEvent', value: { callSid: 'q3' } }, { queueWhileDown: true });
    expect(() => c.send({ type: 'callEvent', value: { callSid: 'not-queued' } })).toThrow();
    expect(c.queuedMessages).toBe(3);
    await sleep(500); // several failed reconnect attempts (backoff ≤ 300 ms)

    child = await startChildServer(HOST, port);
    const t0 = Date.now();
    expect(expectBody(await queued, 'placementDecision').callSid).toBe('q2');
    expect(Date.now() - t0).toBeLessThan(2000);
    await waitFor(() => child.lines.filter((l) => l.startsWith('EVENT')).length === 2, 2000, 'queued events delivered');
    expect(child.lines.filter((l) => l.startsWith('EVENT'))).toEqual(['EVENT q1', 'EVENT q3']);
    expect(states).toEqual(['up', 'down:TRANSPORT_ERROR', 'up']);
    expect(c.queuedMessages).toBe(0);
  });

  it('detects a frozen peer (SIGSTOP) by missing heartbeats and rejects what was in flight', async () => {
    const child = await startChildServer(HOST, 0);
    cleanups.push(async () => {
      child.proc.kill('SIGCONT');
      await child.kill('SIGKILL');
    });
    const c = client(child.port);
    const reasons: MeshError[] = [];
    c.on('disconnected', (r) => reasons.push(r));
    c.start();
    await c.waitConnected(3000);
    await child.kill('SIGSTOP');
    const t0 = Date.now();
    const inFlight = c.request(placement('frozen'), { timeoutMs: 10_000 });
    await expect(inFlight).rejects.toSatisfy((e: unknown) => isMeshError(e, 'TRANSPORT_ERROR'));
    // deadPeerTimeoutMs 600 + one check tick.
    expect(Date.now() - t0).toBeLessThan(1200);
    expect(reasons[0]?.code).toBe('UPSTREAM_TIMEOUT');
  });

  it('close() is idempotent and rejects pending requests with CLOSED', async () => {
    const { s, port } = await server(() => new Promise(() => undefined)); // never answers
    const c = client(port).start();
    await c.waitConnected(3000);
    const pending = [c.request(placement('a'), { timeoutMs: 10_000 }), c.request(placement('b'), { timeoutMs: 10_000 })];
    await sleep(50);
    await Promise.all([c.close(), c.close()]);
    for (const p of pending) await expect(p).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
    await expect(c.request(placement('c'), { timeoutMs: 100 })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
    await expect(c.waitConnected(100)).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
    await s.close();
    await s.close();
  });

  it('server close() rejects its sessions\' pending requests with CLOSED, and the client notices', async () => {
    const { s, port } = await server();
    const sessions: LinkSession[] = [];
    s.on('connected', (x) => sessions.push(x));
    const c = client(port, { onRequest: () => new Promise(() => undefined) }).start(); // never answers
    await c.waitConnected(3000);
    await waitFor(() => sessions.length === 1, 1000, 'session');
    const never = (sessions[0] as LinkSession).request({ type: 'branchSetup', value: { branchId: 'B2' } }, { timeoutMs: 5000 });
    await sleep(50);
    await Promise.all([s.close(), s.close()]);
    await expect(never).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
    await waitFor(() => !c.isConnected, 2000, 'client notices');
  });
});
