/**
 * Link thread: the emulated region links of one benchmark case, one
 * UdpDelayRelay per stream and hop, in their own event loop.
 */
import { parentPort } from 'node:worker_threads';
import { UdpDelayRelay, type UdpDelayRelayStats, type UdpRelayEndpoints } from '../../regions/link/udp-delay-relay.js';

export interface RelaySpec {
  listenHost: string;
  targetHost: string;
  targetPort: number;
  delayMs: number;
}

const port = parentPort;
if (port === null) throw new Error('link-worker must run as a worker thread');

let relays: UdpDelayRelay[] = [];

async function open(specs: RelaySpec[]): Promise<UdpRelayEndpoints[]> {
  const created = specs.map((s) => new UdpDelayRelay({ ...s, maxQueuedPackets: 8192 }));
  relays.push(...created);
  return Promise.all(created.map((r) => r.start()));
}

async function closeAll(): Promise<UdpDelayRelayStats['dropped']> {
  const dropped = { queueFull: 0, tooLarge: 0, blocked: 0, strangers: 0, noPeer: 0 };
  for (const r of relays) {
    const d = r.stats().dropped;
    for (const k of Object.keys(dropped) as (keyof typeof dropped)[]) dropped[k] += d[k];
  }
  await Promise.all(relays.map((r) => r.close()));
  relays = [];
  return dropped;
}

port.on('message', (m: { type: string; specs?: RelaySpec[] }) => {
  if (m.type === 'open') {
    open(m.specs ?? []).then(
      (endpoints) => port.postMessage({ type: 'opened', endpoints }),
      (e: unknown) => port.postMessage({ type: 'opened', error: (e as Error).message }),
    );
  } else if (m.type === 'close-all') {
    void closeAll().then((dropped) => port.postMessage({ type: 'closed-all', dropped }));
  }
});
