/**
 * Port helpers for tests: is a local address:port bound (read from
 * /proc/net, so probing never sends a packet or opens a connection to the
 * process under test), wait until it is, and ask the kernel for a free port.
 */
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { MeshError } from '../../regions/core/errors.js';

export type PortProtocol = 'udp' | 'tcp';

/** /proc/net/tcp state of a listening socket. */
const TCP_LISTEN = '0A';

/** "0105007F:13C4" (little-endian IPv4 as on x86, port in hex) for 127.0.5.1:5060. */
function procNetKey(address: string, port: number): string {
  const octets = address.split('.').map((o) => Number(o));
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new MeshError('BAD_REQUEST', `not an IPv4 address: ${address}`);
  }
  const hexIp = octets
    .reverse()
    .map((o) => o.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  return `${hexIp}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/**
 * True when some process has `address:port` bound (UDP) or listening (TCP).
 * A socket bound to 0.0.0.0 on that port counts too.
 */
export async function isPortBound(address: string, port: number, protocol: PortProtocol): Promise<boolean> {
  const wanted = new Set([procNetKey(address, port), procNetKey('0.0.0.0', port)]);
  const table = await readFile(`/proc/net/${protocol}`, 'utf8');
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    const state = cols[3];
    if (local === undefined || !wanted.has(local)) continue;
    if (protocol === 'udp' || state === TCP_LISTEN) return true;
  }
  return false;
}

/** Resolves once `address:port` is bound; rejects after `timeoutMs` or when `abort` fires. */
export async function waitForPortBound(
  address: string,
  port: number,
  protocol: PortProtocol,
  timeoutMs: number,
  abort?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (abort?.aborted) throw new MeshError('CLOSED', `stopped waiting for ${protocol} ${address}:${port}`);
    if (await isPortBound(address, port, protocol)) return;
    if (Date.now() >= deadline) {
      throw new MeshError('REQUEST_TIMEOUT', `${protocol} ${address}:${port} not bound within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A port the kernel reports free on `address` right now (may be taken by the time it is used). */
export async function freePort(address: string, protocol: PortProtocol): Promise<number> {
  if (protocol === 'udp') {
    const sock = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, address, () => resolve());
      });
      return sock.address().port;
    } finally {
      sock.close();
    }
  }
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, address, () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new MeshError('INTERNAL', 'no TCP address');
    return addr.port;
  } finally {
    server.close();
  }
}
