import dgram from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bencodeDecode, bencodeEncode, type BencodeInput } from '../../../../media/ng/bencode.js';
import { NgClient } from '../../../../media/ng/client.js';
import { CircuitBreaker } from '../../../../regions/core/circuit-breaker.js';
import { MeshError } from '../../../../regions/core/errors.js';

/**
 * A scripted UDP peer standing in for rtpengine's ng socket: it only tests
 * the client's own logic (cookies, retransmits, timeouts, close). The real
 * protocol is exercised against rtpengine in test/integration/media.
 */
type Handler = (cookie: string, dict: Record<string, unknown>, count: number) => BencodeInput | 'drop' | Buffer;

class FakeNgPeer {
  readonly socket = dgram.createSocket('udp4');
  readonly seen: { cookie: string; dict: Record<string, unknown> }[] = [];
  handler: Handler = () => ({ result: 'pong' });
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((r) => this.socket.bind(0, '127.0.8.20', () => r()));
    this.port = this.socket.address().port;
    this.socket.on('message', (msg, rinfo) => {
      const space = msg.indexOf(0x20);
      const cookie = msg.toString('latin1', 0, space);
      const dict = bencodeDecode(msg.subarray(space + 1)) as Record<string, unknown>;
      this.seen.push({ cookie, dict });
      const count = this.seen.filter((s) => s.cookie === cookie).length;
      const reply = this.handler(cookie, dict, count);
      if (reply === 'drop') return;
      const body = Buffer.isBuffer(reply) ? reply : Buffer.concat([Buffer.from(`${cookie} `), bencodeEncode(reply)]);
      this.socket.send(body, rinfo.port, rinfo.address);
    });
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

async function rejection(p: Promise<unknown>): Promise<MeshError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MeshError);
    return e as MeshError;
  }
  throw new Error('expected a rejection');
}

describe('NgClient (against a scripted UDP peer)', () => {
  let peer: FakeNgPeer;
  let client: NgClient | undefined;

  beforeEach(async () => {
    peer = new FakeNgPeer();
    await peer.start();
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await peer.close();
  });

  it('sends "<cookie> <bencoded dict>" with the command and resolves ping on pong', async () => {
    client = new NgClient({ address: '127.0.8.20', port: peer.port });
    await client.ping();
    expect(peer.seen).toHaveLength(1);
    expect(peer.seen[0]?.dict).toEqual({ command: 'ping' });
    expect(peer.seen[0]?.cookie).toMatch(/^[0-9a-f]{12}_[0-9a-z]+$/);
  });

  it('maps offer parameters to ng keys and returns the rewritten SDP', async () => {
    peer.handler = () => ({ result: 'ok', sdp: 'v=0\r\nrewritten\r\n' });
    client = new NgClient({ address: '127.0.8.20', port: peer.port });
    const r = await client.offer({
      callId: 'c1', fromTag: 'ft', sdp: 'v=0\r\n', replace: ['origin', 'session-connection'], ice: 'remove',
      flags: ['trust-address'], receivedFrom: { family: 'IP4', address: '127.0.8.50' }, extra: { 'record-call': 'no' },
    });
    expect(r.sdp).toBe('v=0\r\nrewritten\r\n');
    expect(peer.seen[0]?.dict).toEqual({
      command: 'offer', 'call-id': 'c1', 'from-tag': 'ft', sdp: 'v=0\r\n', replace: ['origin', 'session-connection'],
      ICE: 'remove', flags: ['trust-address'], 'received-from': ['IP4', '127.0.8.50'], 'record-call': 'no',
    });
  });

  it('matches replies by cookie even when they arrive out of order', async () => {
    const held: (() => void)[] = [];
    peer.handler = (cookie, dict) => {
      // Hold the first reply until the second has been answered.
      if (dict['call-id'] === 'first') {
        held.push(() => peer.socket.send(Buffer.concat([Buffer.from(`${cookie} `), bencodeEncode({ result: 'ok', calls: ['one'] })]), lastPort, '127.0.8.20'));
        return 'drop';
      }
      setTimeout(() => held.forEach((f) => f()), 20);
      return { result: 'ok', calls: ['two'] };
    };
    let lastPort = 0;
    client = new NgClient({ address: '127.0.8.20', port: peer.port, retransmitMs: 5000 });
    const first = client.command('list', { 'call-id': 'first' });
    await new Promise((r) => setTimeout(r, 20));
    lastPort = (client as unknown as { socket: dgram.Socket }).socket.address().port;
    const second = client.command('list', { 'call-id': 'second' });
    expect((await second).calls).toEqual(['two']);
    expect((await first).calls).toEqual(['one']);
  });

  it('retransmits with the same cookie until a reply comes', async () => {
    peer.handler = (_c, _d, count) => (count < 3 ? 'drop' : { result: 'pong' });
    client = new NgClient({ address: '127.0.8.20', port: peer.port, retransmitMs: 30, timeoutMs: 1000 });
    await client.ping();
    expect(peer.seen).toHaveLength(3);
    expect(new Set(peer.seen.map((s) => s.cookie)).size).toBe(1);
    expect(client.stats().retransmits).toBe(2);
  });

  it('rejects with UPSTREAM_TIMEOUT when no reply comes within timeoutMs', async () => {
    peer.handler = () => 'drop';
    client = new NgClient({ address: '127.0.8.20', port: peer.port, retransmitMs: 40, timeoutMs: 150 });
    const started = Date.now();
    const e = await rejection(client.ping());
    expect(e.code).toBe('UPSTREAM_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(600);
    expect(client.stats().pending).toBe(0);
    expect(client.stats().commands.find((c) => c.command === 'ping')?.timeouts).toBe(1);
  });

  it('turns result:error into BAD_GATEWAY carrying error-reason', async () => {
    peer.handler = () => ({ result: 'error', 'error-reason': 'Unknown call-id' });
    client = new NgClient({ address: '127.0.8.20', port: peer.port });
    const e = await rejection(client.query('nope'));
    expect(e.code).toBe('BAD_GATEWAY');
    expect(e.message).toContain('Unknown call-id');
    expect(e.detail?.errorReason).toBe('Unknown call-id');
  });

  it('rejects a reply that is not bencode with BAD_GATEWAY', async () => {
    peer.handler = (cookie) => Buffer.from(`${cookie} d6:result`);
    client = new NgClient({ address: '127.0.8.20', port: peer.port });
    const e = await rejection(client.ping());
    expect(e.code).toBe('BAD_GATEWAY');
    expect(e.message).toContain('bencode');
  });

  it('close() rejects pending requests with CLOSED, is idempotent, and later calls fail with CLOSED', async () => {
    peer.handler = () => 'drop';
    client = new NgClient({ address: '127.0.8.20', port: peer.port });
    const pending = client.offer({ callId: 'c', fromTag: 'f', sdp: 'v=0\r\n' });
    await new Promise((r) => setTimeout(r, 10));
    const closing = client.close();
    expect(client.close()).toBe(closing);
    expect((await rejection(pending)).code).toBe('CLOSED');
    await closing;
    expect((await rejection(client.ping())).code).toBe('CLOSED');
  });

  it('bounds the pending requests', async () => {
    peer.handler = () => 'drop';
    client = new NgClient({ address: '127.0.8.20', port: peer.port, maxPending: 2, timeoutMs: 200 });
    const a = client.ping().catch((e: unknown) => e);
    const b = client.ping().catch((e: unknown) => e);
    expect((await rejection(client.ping())).code).toBe('SERVICE_UNAVAILABLE');
    await Promise.all([a, b]);
  });

  it('fails fast with CIRCUIT_OPEN once timeouts open the breaker, while error replies do not', async () => {
    const breaker = new CircuitBreaker('test', { failureThreshold: 2, openMs: 60_000 });
    peer.handler = () => ({ result: 'error', 'error-reason': 'nope' });
    client = new NgClient({ address: '127.0.8.20', port: peer.port, timeoutMs: 80, retransmitMs: 40, breaker });
    for (let i = 0; i < 3; i++) expect((await rejection(client.ping())).code).toBe('BAD_GATEWAY');
    expect(breaker.state).toBe('closed');
    peer.handler = () => 'drop';
    expect((await rejection(client.ping())).code).toBe('UPSTREAM_TIMEOUT');
    expect((await rejection(client.ping())).code).toBe('UPSTREAM_TIMEOUT');
    const sentBefore = peer.seen.length;
    expect((await rejection(client.ping())).code).toBe('CIRCUIT_OPEN');
    expect(peer.seen.length).toBe(sentBefore);
    // A health probe ignores the open breaker and closes it on success.
    peer.handler = () => ({ result: 'pong' });
    expect(await client.probe(200)).toBeGreaterThanOrEqual(0);
    expect(breaker.state).toBe('closed');
  });

  it('records per-command latency', async () => {
    client = new NgClient({ address: '127.0.8.20', port: peer.port });
    for (let i = 0; i < 5; i++) await client.ping();
    const ping = client.stats().commands.find((c) => c.command === 'ping');
    expect(ping?.ok).toBe(5);
    expect(ping?.buckets.at(-1)).toBe(5);
    expect(ping?.p50Ms).toBeGreaterThanOrEqual(0);
  });

  it('ignores datagrams with unknown cookies', async () => {
    peer.handler = (cookie) => {
      setTimeout(() => peer.socket.send(Buffer.from(`${cookie} d6:result4:ponge`), port(), '127.0.8.20'), 5);
      return Buffer.from(`stray d6:result2:oke`);
    };
    client = new NgClient({ address: '127.0.8.20', port: peer.port });
    const port = (): number => (client as unknown as { socket: dgram.Socket }).socket.address().port;
    await client.ping();
    expect(client.stats().unmatchedReplies).toBe(1);
  });
});
