/**
 * Waiting for a spawned server to be ready, without speaking its protocol:
 * a bound UDP socket or a listening TCP socket shows up in /proc/net/{udp,tcp}.
 */
import { readFileSync } from 'node:fs';

/** /proc/net encodes an IPv4 address as little-endian hex: 127.0.7.4 -> 0407007F. */
function procNetAddress(address: string, port: number): string {
  const hex = address
    .split('.')
    .reverse()
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  return `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

const TCP_LISTEN = '0A';

export function isListening(proto: 'udp' | 'tcp', address: string, port: number): boolean {
  let table: string;
  try {
    table = readFileSync(`/proc/net/${proto}`, 'latin1');
  } catch {
    return false;
  }
  const want = procNetAddress(address, port);
  const any = procNetAddress('0.0.0.0', port);
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (local !== want && local !== any) continue;
    if (proto === 'udp' || cols[3] === TCP_LISTEN) return true;
  }
  return false;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolve once the socket is bound; reject after timeoutMs, or at once if `alive()` turns false. */
export async function waitForListener(
  proto: 'udp' | 'tcp',
  address: string,
  port: number,
  timeoutMs: number,
  alive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (isListening(proto, address, port)) return;
    if (!alive()) throw new Error(`process exited before listening on ${proto} ${address}:${port}`);
    await sleep(50);
  }
  throw new Error(`nothing listening on ${proto} ${address}:${port} after ${timeoutMs} ms`);
}
