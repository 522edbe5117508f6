/**
 * A raw SIP peer over WebSocket for the transport contract: a browser has no
 * listening address, so this peer opens its connection to the transport
 * under test when it is created, and "listening" is that connection's local
 * address:port — where the transport must send requests (RFC 7118 §5).
 */
import { MeshError } from '../../../../../regions/core/errors.js';
import { connectWs, type WsClient } from '../../../../support/ws-client.js';
import type { Address, RawPeer, Received } from './peers.js';

export interface WsRawPeer extends RawPeer {
  readonly client: WsClient;
}

/** Connect from `address` to the WebSocket transport at `server`. */
export async function wsPeer(address: string, server: Address, opts: { tls?: boolean } = {}): Promise<WsRawPeer> {
  const connections = new Map<string, WsClient>();
  const received: Received[] = [];
  const cameOn = new WeakMap<Received, WsClient>();
  const open = async (to: Address): Promise<WsClient> => {
    const c = await connectWs({ host: to.address, port: to.port, localAddress: address, ...(opts.tls === true ? { tls: true } : {}) });
    const seen = { n: 0 };
    // Poll the client's message list into `received` (the client keeps its own order).
    const timer = setInterval(() => {
      while (seen.n < c.messages.length) {
        const m = c.messages[seen.n++]!;
        const r: Received = { bytes: m.data, text: m.data.toString('latin1'), from: to };
        cameOn.set(r, c);
        received.push(r);
      }
      if (c.isClosed && seen.n >= c.messages.length) clearInterval(timer);
    }, 2);
    timer.unref();
    connections.set(`${to.address}:${to.port}`, c);
    return c;
  };
  const first = await open(server);
  let closing: Promise<void> | undefined;
  return {
    transport: 'WS',
    client: first,
    listening: { address: first.localAddress, port: first.localPort },
    received,
    async send(bytes, to) {
      const key = `${to.address}:${to.port}`;
      let c = connections.get(key);
      if (c === undefined || c.isClosed) c = await open(to);
      c.send(typeof bytes === 'string' ? bytes : bytes);
      return { address: c.localAddress, port: c.localPort };
    },
    async reply(msg, bytes) {
      const c = cameOn.get(msg);
      if (c === undefined) throw new MeshError('BAD_REQUEST', 'not a message this peer received');
      c.send(bytes);
    },
    close() {
      closing ??= Promise.all([...connections.values()].map(async (c) => {
        c.destroy();
        await c.closed;
      })).then(() => undefined);
      return closing;
    },
  };
}
