/**
 * The benchmark's application server (hono): one instruction document per
 * case, and the WAV the `Play` cases fetch. Every document request is
 * timestamped on `process.hrtime.bigint()` (arrival in the handler, and the
 * moment the response is handed back) under its `From` parameter, the call's
 * key.
 *
 * Cold cases get something new on every call: `Say` a sentence with the
 * call's number in it (espeak-ng runs), `Play` a URL with the call's number
 * in its query *and* bytes that differ (the media cache skips the transcode
 * of a body it has seen under another URL, so only new bytes force one).
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';

export type RouterCase = 'say-cold' | 'say-warm' | 'play-cold' | 'play-warm';
export const ROUTER_CASES: readonly RouterCase[] = ['say-warm', 'say-cold', 'play-warm', 'play-cold'];

export interface DocHit {
  case: RouterCase;
  arrivedNs: bigint;
  respondedNs: bigint;
}

export interface AppServer {
  readonly url: string;
  /** Document requests by From. */
  readonly docs: Map<string, DocHit>;
  /** WAV requests by `v` query value. */
  readonly media: Map<string, number>;
  /** The document a case answers with, for the call numbered `n` (used by the fetch baseline too). */
  document(c: RouterCase, n: number): string;
  close(): Promise<void>;
}

/** The text a `Say` case speaks; the same length for cold and warm. */
export function sayText(c: 'say-cold' | 'say-warm', n: number): string {
  return c === 'say-warm' ? 'Thank you for calling, please hold the line.' : `Thank you for calling ${String(n).padStart(4, '0')}, please hold.`;
}

export async function startAppServer(o: { address: string; wav: Buffer }): Promise<AppServer> {
  const docs = new Map<string, DocHit>();
  const media = new Map<string, number>();
  const dataAt = wavDataOffset(o.wav);
  let url = '';
  const document = (c: RouterCase, n: number): string => {
    switch (c) {
      case 'say-cold':
      case 'say-warm':
        return `<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="man" language="en-US">${sayText(c, n)}</Say></Response>`;
      case 'play-cold':
        return `<?xml version="1.0" encoding="UTF-8"?><Response><Play>${url}/audio.wav?v=c${n}</Play></Response>`;
      case 'play-warm':
        return `<?xml version="1.0" encoding="UTF-8"?><Response><Play>${url}/audio.wav?v=warm</Play></Response>`;
    }
  };
  const app = new Hono();
  app.get('/audio.wav', (c) => {
    const v = c.req.query('v') ?? '';
    media.set(v, (media.get(v) ?? 0) + 1);
    // A different first sample per variant: new bytes, so a new transcode; inaudible.
    const body = Buffer.from(o.wav);
    if (v !== 'warm' && dataAt + 4 <= body.length) body.writeUInt32LE(hash32(v), dataAt);
    return c.body(new Uint8Array(body), 200, { 'Content-Type': 'audio/wav', 'Cache-Control': 'max-age=3600' });
  });
  app.post('/doc/:case', async (c) => {
    const arrivedNs = process.hrtime.bigint();
    const name = c.req.param('case') as RouterCase;
    if (!ROUTER_CASES.includes(name)) return c.text('no such case', 404);
    const form = await c.req.parseBody();
    const from = String(form['From'] ?? '');
    const n = Number(/(\d+)$/.exec(from)?.[1] ?? 0);
    const body = document(name, n);
    docs.set(from, { case: name, arrivedNs, respondedNs: process.hrtime.bigint() });
    return c.body(body, 200, { 'Content-Type': 'text/xml' });
  });
  const server: ServerType = serve({ fetch: app.fetch, hostname: o.address, port: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  url = `http://${o.address}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    docs,
    media,
    document,
    close: () =>
      new Promise<void>((r) => {
        // Keep-alive connections of the node would hold close() open.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

/** Byte offset of the samples in a WAV ("data" chunk), or the file length when there is none. */
function wavDataOffset(wav: Buffer): number {
  let p = 12;
  while (p + 8 <= wav.length) {
    const id = wav.subarray(p, p + 4).toString('latin1');
    const size = wav.readUInt32LE(p + 4);
    if (id === 'data') return p + 8;
    p += 8 + size + (size & 1);
  }
  return wav.length;
}

/** FNV-1a, enough to make each variant's bytes differ. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
