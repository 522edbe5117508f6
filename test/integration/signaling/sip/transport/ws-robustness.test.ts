/**
 * WebSocket transport robustness (issue 13), beyond the per-rule cases of
 * ws.test.ts: hostile input fails only its own connection while others go
 * on; many slow-loris upgrades at once are each closed at the upgrade
 * timeout while a well-behaved client still gets through; 1,000 idle
 * upgraded connections leave the node responsive (SIP over UDP answered, a
 * new client upgrades), connection limit+1 is refused with 503, and the idle
 * timeout closes them all with 1001.
 *
 * The 1,000 connections are opened by a child process so that this
 * process's heap growth is the transport's own cost per connection.
 * Figures are printed (`[ws-robustness]` lines), not asserted as speeds.
 * Transport on 127.0.71.1; clients on 127.0.71.2 (this process) and
 * 127.0.71.3 (the child).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponse, parseSipMessage } from '../../../../../signaling/sip/message/index.js';
import type { SipResponse } from '../../../../../signaling/sip/message/types.js';
import { DEFAULT_SIP_LIMITS } from '../../../../../signaling/sip/message/types.js';
import { SipTransportLayer, type WsOptions } from '../../../../../signaling/sip/transport/transport-layer.js';
import { encodeFrame, OPCODE } from '../../../../../signaling/sip/transport/websocket/frames.js';
import { connectWs, rawHttp } from '../../../../support/ws-client.js';
import { requestText } from './contract.js';
import { CLOSE_WITHIN_MS, until, within } from './peers.js';

const ADDRESS = '127.0.71.1';
const PEER = '127.0.71.2';
const CROWD = '127.0.71.3';

const report = (line: string): void => console.log(`[ws-robustness] ${line}`);

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A transport with UDP and WS whose listener answers every OPTIONS with 200 (a stand-in for the SIP stack). */
async function started(ws: WsOptions = {}, limits = DEFAULT_SIP_LIMITS) {
  const transport = await SipTransportLayer.start({ address: ADDRESS, port: 0, transports: ['UDP'], limits, websocket: { port: 0, ...ws } });
  cleanup.push(() => within(transport.close(), CLOSE_WITHIN_MS, 'transport close()'));
  let answered = 0;
  transport.setListener({
    onRequest: (req, source) => {
      answered++;
      transport.sendResponse(createResponse(req, 200, undefined, { toTag: 'r' }), source);
    },
    onResponse: () => undefined,
  });
  const self = { address: ADDRESS, port: transport.port };
  const wsPort = transport.localEndpoint('WS').port;
  const client = async () => {
    const c = await connectWs({ host: ADDRESS, port: wsPort, localAddress: PEER, timeoutMs: 3000 });
    cleanup.push(() => c.destroy());
    return c;
  };
  /** A WS client upgrades, sends OPTIONS and gets its 200. */
  const roundTrip = async (): Promise<void> => {
    const c = await client();
    c.send(requestText({ transport: 'WS', to: self, via: { address: 'h7df2.invalid', port: 5060 } }));
    await until(() => c.messages.length === 1, 3000, 'WS OPTIONS answered');
    expect((parseSipMessage(c.messages[0]!.data) as SipResponse).status).toBe(200);
    c.destroy();
  };
  return { transport, self, wsPort, client, roundTrip, answered: () => answered };
}

/** OPTIONS over UDP from PEER; resolves with the time to the 200 in ms. */
async function udpOptions(to: { address: string; port: number }): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, PEER, () => r()));
  try {
    const port = sock.address().port;
    const got = new Promise<number>((resolve) => {
      sock.once('message', (m) => {
        expect((parseSipMessage(m) as SipResponse).status).toBe(200);
        resolve(performance.now());
      });
    });
    const t0 = performance.now();
    sock.send(requestText({ transport: 'UDP', to, via: { address: PEER, port } }), to.port, to.address);
    return (await within(got, 2000, 'UDP OPTIONS answered')) - t0;
  } finally {
    sock.close();
  }
}

/** A raw TCP connection from PEER that writes `bytes` and collects what comes back until closed. */
function raw(port: number, bytes: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: ADDRESS, port, localAddress: PEER });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('connection not closed by the server within 3000 ms'));
    }, 3000);
    s.on('connect', () => s.write(bytes));
    s.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

describe('WebSocket transport under hostile input', () => {
  it('closes a connection announcing an oversized frame with 1009 at once (no payload awaited), and keeps serving others', async () => {
    const { transport, client, roundTrip } = await started({}, { ...DEFAULT_SIP_LIMITS, maxMessageBytes: 4096 });
    const bystander = await client();
    const c = await client();
    // Only a frame header claiming 1 GiB (64-bit length, masked): the server must not wait for or buffer it.
    const head = Buffer.alloc(14);
    head[0] = 0x81;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(1n << 30n, 2);
    c.sendRaw(head);
    expect((await within(c.closed, 2000, 'oversized connection closed')).code).toBe(1009);
    // A single frame just over the limit, sent whole, too.
    const d = await client();
    d.send('x'.repeat(4097));
    expect((await within(d.closed, 2000, 'second oversized connection closed')).code).toBe(1009);
    expect(transport.counters.oversized).toBe(2);
    expect(bystander.isClosed).toBe(false);
    await roundTrip();
    await until(() => transport.counters.wsConnections === 1, 2000, 'only the bystander left');
  });

  it('answers garbage before the upgrade with 400 (binary junk, a TLS hello on plain ws, a bad request line), counted, node unharmed', async () => {
    const { transport, wsPort, roundTrip } = await started({ handshakeTimeoutMs: 5000 });
    const tlsHello = Buffer.from('160301020001000200030300000000000000000000', 'hex');
    const junk = Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]);
    const t0 = performance.now();
    const answers = await Promise.all([raw(wsPort, tlsHello), raw(wsPort, junk), raw(wsPort, 'HELLO\r\n\r\n'), raw(wsPort, 'HELLO!'), raw(wsPort, 'GET / HTTP/1.0\r\n\r\n')]);
    const ms = performance.now() - t0;
    for (const a of answers) expect(a.toString('latin1')).toMatch(/^HTTP\/1\.1 400 /);
    // Refused on sight, not at the 5 s upgrade timeout.
    expect(ms).toBeLessThan(4000);
    expect(transport.counters.wsRefused.handshake).toBe(5);
    expect(transport.counters.wsRefused.timeout).toBe(0);
    await roundTrip();
  });

  it('fails upgraded connections on garbage frames: reserved opcode 1002, unmasked 1002, bad UTF-8 1007; counted as framing', async () => {
    const { transport, client, roundTrip } = await started();
    const reserved = await client();
    const bad = encodeFrame(OPCODE.text, Buffer.from('abc'), true);
    bad[0] = 0x80 | 0x3; // opcode 3 is reserved
    reserved.sendRaw(bad);
    const unmasked = await client();
    unmasked.sendRaw(encodeFrame(OPCODE.binary, Buffer.from('abc'), false));
    const notUtf8 = await client();
    notUtf8.sendRaw(encodeFrame(OPCODE.text, Buffer.from([0x4f, 0x50, 0xc3, 0x28, 0xff]), true));
    const noise = await client();
    noise.sendRaw(Buffer.from('this is not a frame at all\r\n'));
    const codes = await Promise.all([reserved, unmasked, notUtf8, noise].map(async (c) => (await within(c.closed, 2000, 'garbage connection closed')).code));
    expect(codes.slice(0, 3)).toEqual([1002, 1002, 1007]);
    expect([1002, 1009]).toContain(codes[3]);
    expect(transport.counters.droppedByReason.framing).toBe(4);
    await roundTrip();
    await until(() => transport.counters.wsConnections === 0, 2000, 'all connections gone');
  });

  it('closes many slow-loris upgrades at the upgrade timeout with 408, while a well-behaved client upgrades and is answered', async () => {
    const N = 60;
    const TIMEOUT = 1500;
    const { transport, wsPort, roundTrip } = await started({ handshakeTimeoutMs: TIMEOUT, maxConnections: N + 5 });
    const upgrade = 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n';
    const socks: Socket[] = [];
    const dribbling = Promise.all(
      Array.from({ length: N }, () => {
        const s = netConnect({ host: ADDRESS, port: wsPort, localAddress: PEER });
        socks.push(s);
        const t0 = performance.now();
        let i = 0;
        let got = '';
        // One byte every 100 ms: the head would take ~17 s.
        const drip = setInterval(() => {
          if (!s.destroyed && i < upgrade.length) s.write(upgrade[i++]!);
        }, 100);
        s.on('data', (b: Buffer) => (got += b.toString('latin1')));
        s.on('error', () => undefined);
        return new Promise<{ ms: number; answer: string }>((resolve) =>
          s.on('close', () => {
            clearInterval(drip);
            resolve({ ms: performance.now() - t0, answer: got });
          }),
        );
      }),
    ).finally(() => socks.forEach((s) => s.destroy()));
    // While all of them dribble (and hold slots), a well-behaved client upgrades and is answered.
    await new Promise((r) => setTimeout(r, 300));
    await roundTrip();
    expect(transport.counters.wsRefused.timeout).toBe(0);
    const lifetimes = await within(dribbling, TIMEOUT + 3000, 'slow-loris upgrades closed');
    for (const l of lifetimes) {
      expect(l.answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(l.ms).toBeGreaterThanOrEqual(TIMEOUT - 50);
    }
    expect(transport.counters.wsRefused.timeout).toBe(N);
    report(`slow-loris: ${N} dribbling upgrades closed 408 after ${Math.round(Math.min(...lifetimes.map((l) => l.ms)))}-${Math.round(Math.max(...lifetimes.map((l) => l.ms)))} ms (timeout ${TIMEOUT} ms)`);
  });
});

/** Opens N raw WebSocket upgrades from `local` in a child process; reports on stdout (JSON lines), never answers pings. */
const CROWD_SCRIPT = `
const net = require('node:net');
const { HOST, PORT, LOCAL, N } = process.env;
const n = Number(N);
const req = 'GET / HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Protocol: sip\\r\\n\\r\\n';
let upgraded = 0, refused = 0, closed = 0;
const codes = {};
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
function one() {
  return new Promise((res) => {
    const s = net.connect({ host: HOST, port: Number(PORT), localAddress: LOCAL });
    let head = true, code = 'none', done = false;
    const fin = (ok) => { if (!done) { done = true; ok ? upgraded++ : refused++; res(); } };
    s.on('connect', () => s.write(req));
    s.on('data', (b) => {
      if (head) {
        head = false;
        const ok = b.toString('latin1').startsWith('HTTP/1.1 101');
        fin(ok);
        if (!ok) return;
        b = b.subarray(b.indexOf('\\r\\n\\r\\n') + 4);
      }
      if (b.length >= 4 && b[0] === 0x88) code = String(b.readUInt16BE(2));
    });
    s.on('error', () => {});
    s.on('close', () => {
      fin(false);
      closed++;
      codes[code] = (codes[code] || 0) + 1;
      if (closed === n) say({ event: 'closed', codes });
    });
  });
}
(async () => {
  const t0 = performance.now();
  for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: Math.min(50, n - i) }, one));
  say({ event: 'open', upgraded, refused, ms: performance.now() - t0 });
})();
`;

interface CrowdEvent {
  event: 'open' | 'closed';
  upgraded?: number;
  refused?: number;
  ms?: number;
  codes?: Record<string, number>;
}

function crowd(port: number, n: number): { child: ChildProcess; next: (event: CrowdEvent['event'], ms: number) => Promise<CrowdEvent> } {
  const child = spawn(process.execPath, ['-e', CROWD_SCRIPT], { env: { ...process.env, HOST: ADDRESS, PORT: String(port), LOCAL: CROWD, N: String(n) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const events: CrowdEvent[] = [];
  let buf = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      events.push(JSON.parse(buf.slice(0, i)) as CrowdEvent);
      buf = buf.slice(i + 1);
    }
  });
  return {
    child,
    next: async (event, ms) => {
      await until(() => events.some((e) => e.event === event), ms, `crowd ${event}`);
      return events.find((e) => e.event === event)!;
    },
  };
}

/** A full collection when the flag can be set at run time (it can on Node 20), so heap figures are not noise. */
function collect(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('WebSocket transport with 1,000 idle connections', () => {
  it('stays responsive, refuses limit+1 with 503, and closes them all with 1001 at the idle timeout', async () => {
    const N = 1000;
    const IDLE_MS = 6000;
    const { transport, self, wsPort, roundTrip } = await started({ maxConnections: N + 1, pingIntervalMs: 600000, idleTimeoutMs: IDLE_MS });
    const closedEvents: number[] = [];
    transport.addConnectionListener({ onClosed: () => closedEvents.push(1) });
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const fdsBefore = fds();
    collect();
    const before = process.memoryUsage();
    const { child, next } = crowd(wsPort, N);
    cleanup.push(() => {
      if (child.exitCode === null) child.kill();
    });
    const opened = await next('open', 20000);
    expect(opened.upgraded).toBe(N);
    expect(transport.counters.wsConnections).toBe(N);
    collect();
    const after = process.memoryUsage();
    const heapPerConn = (after.heapUsed - before.heapUsed) / N;
    const rssPerConn = (after.rss - before.rss) / N;

    // Responsive: OPTIONS over UDP (several, to see the spread) and a new WS client (connection N+1) upgrades and is answered.
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) latencies.push(await udpOptions(self));
    const c = await connectWs({ host: ADDRESS, port: wsPort, localAddress: PEER, timeoutMs: 3000 });
    cleanup.push(() => c.destroy());
    expect(transport.counters.wsConnections).toBe(N + 1);
    // Connection limit+1: 503 with Retry-After, counted.
    const over = await rawHttp({ host: ADDRESS, port: wsPort, localAddress: PEER }, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(over.status).toBe(503);
    expect(over.headers.get('retry-after')).toBe('5');
    expect(transport.counters.wsRefused.limit).toBe(1);
    c.destroy();
    await until(() => transport.counters.wsConnections === N, 2000, 'the extra client gone');
    await roundTrip();

    // Nothing more comes from the crowd: the idle timeout closes every connection with 1001.
    const t0 = performance.now();
    const closed = await next('closed', IDLE_MS + 10000);
    const closeMs = performance.now() - t0;
    expect(closed.codes).toEqual({ 1001: N });
    await until(() => transport.counters.wsConnections === 0, 2000, 'all idle connections gone');
    expect(closedEvents.length).toBe(N + 2);
    // No descriptor leaked: back to where it was before the crowd came.
    await until(() => fds() <= fdsBefore, 3000, 'file descriptors back to the baseline');
    report(
      `${N} idle: opened in ${Math.round(opened.ms!)} ms; heap +${Math.round(heapPerConn)} B/connection, rss +${Math.round(rssPerConn)} B/connection (server side only); ` +
        `fds back to ${fdsBefore}; UDP OPTIONS under load ${latencies.map((l) => l.toFixed(1)).join(', ')} ms; limit+1 refused 503; idle close codes ${JSON.stringify(closed.codes)} (last ${Math.round(closeMs)} ms after the checks)`,
    );
  });
});
