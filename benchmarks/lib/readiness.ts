/**
 * Waiting for a spawned server to be ready, without speaking its protocol:
 * a bound UDP socket or a listening TCP socket shows up in /proc/net/{udp,tcp}.
 * Plus an rtpengine ng `ping` for the media node, which must answer before a
 * proxy that probes it at start-up is launched.
 */
import { createSocket } from 'node:dgram';
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

/** One ng `ping` (bencode over UDP, cookie first); true on `pong` within timeoutMs. */
export function ngPing(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const cookie = `bench${process.pid}${Date.now()}`;
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('error', () => finish(false));
    sock.on('message', (msg) => {
      const text = msg.toString('latin1');
      if (text.startsWith(`${cookie} `)) finish(text.includes('4:pong'));
    });
    sock.send(Buffer.from(`${cookie} d7:command4:pinge`, 'latin1'), port, address);
  });
}

/** Ping the ng port until it answers or timeoutMs passes. */
export async function waitForNg(address: string, port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`rtpengine exited before answering ng on ${address}:${port}`);
    if (await ngPing(address, port, 300)) return;
    await sleep(100);
  }
  throw new Error(`rtpengine did not answer ng ping on ${address}:${port} after ${timeoutMs} ms`);
}
