/**
 * Sender thread: one UDP socket per stream, one 20 ms probe packet per stream
 * per period, streams spread evenly over the period (as independent calls
 * would be). The send time is stamped just before each send, so a late timer
 * tick shifts when a packet leaves but never inflates its measured latency.
 */
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { PACKET_BYTES, stampPacket } from './rtp-probe.js';

interface Init {
  bindHost: string;
  streams: number;
  packetMs: number;
}
interface Run {
  type: 'run';
  targets: { address: string; port: number }[];
  durationMs: number;
  windowFromNs: string;
  windowToNs: string;
}

const init = workerData as Init;
const port = parentPort;
if (port === null) throw new Error('sender-worker must run as a worker thread');

const sockets: dgram.Socket[] = [];
const buffers = Array.from({ length: init.streams }, () => Buffer.alloc(PACKET_BYTES, 0xff));

async function bindAll(): Promise<number[]> {
  for (let i = 0; i < init.streams; i++) {
    const s = dgram.createSocket('udp4');
    s.on('error', () => undefined); // per-datagram errors (ICMP unreachable) are counted as loss by the receiver
    await new Promise<void>((r) => s.bind(0, init.bindHost, r));
    sockets.push(s);
  }
  return sockets.map((s) => s.address().port);
}

const connected = new Set<dgram.Socket>();

/** Connect each socket to its stream's target: sends then skip the per-datagram address lookup. */
async function connectAll(targets: Run['targets']): Promise<void> {
  await Promise.all(sockets.map((s, i) => {
    const t = targets[i];
    if (connected.has(s)) {
      s.disconnect();
      connected.delete(s);
    }
    if (t === undefined) return undefined;
    return new Promise<void>((resolve, reject) => s.connect(t.port, t.address, (e?: Error) => {
      if (e) return reject(e);
      connected.add(s);
      resolve();
    }));
  }));
}

async function run(r: Run): Promise<{ sent: number; sentInWindow: number }> {
  await connectAll(r.targets);
  const fromNs = BigInt(r.windowFromNs);
  const toNs = BigInt(r.windowToNs);
  const n = init.streams;
  const slotMs = init.packetMs / n;
  const start = performance.now();
  const total = Math.floor(r.durationMs / init.packetMs) * n;
  let k = 0;
  let sentInWindow = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (k < total && start + k * slotMs <= now) {
        const stream = k % n;
        const seq = Math.floor(k / n);
        const buf = buffers[stream] as Buffer;
        const t = process.hrtime.bigint();
        stampPacket(buf, stream, seq, t);
        if (t >= fromNs && t < toNs) sentInWindow++;
        const socket = sockets[stream] as dgram.Socket;
        if (connected.has(socket)) socket.send(buf);
        k++;
      }
      if (k >= total) resolve({ sent: k, sentInWindow });
      else setTimeout(tick, Math.max(0, start + k * slotMs - performance.now()));
    };
    tick();
  });
}

port.on('message', (m: { type: string }) => {
  if (m.type === 'bind') void bindAll().then((ports) => port.postMessage({ type: 'bound', ports }));
  else if (m.type === 'run') void run(m as Run).then((res) => port.postMessage({ type: 'ran', ...res }));
  else if (m.type === 'close') {
    for (const s of sockets) s.close();
    port.postMessage({ type: 'closed' });
  }
});
