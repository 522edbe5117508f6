/**
 * Preloaded into the benchmark's signaling node process
 * (`node --import tsx --import ./node-probe.ts infra/node-main.ts`): times,
 * from inside the node, every HTTP request it makes (instruction documents,
 * Play media), every helper program it runs (espeak-ng, sox) and every ng
 * command it sends to rtpengine (sent → reply), on
 * `process.hrtime.bigint()` — CLOCK_MONOTONIC, the same clock the benchmark
 * process reads — so these spans line up with the caller's 200 OK and first
 * RTP packet. Nothing in the product code knows about it.
 *
 * Records stay in memory and are written once, as JSON lines, to
 * $CALL_ROUTER_PROBE_FILE when the process exits (node-main exits on
 * SIGTERM): a write on the measured path would perturb what is measured.
 */
import { writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { BroadcastChannel, isMainThread } from 'node:worker_threads';

export interface FetchSpan {
  kind: 'fetch';
  url: string;
  method: string;
  /** The `From` form parameter of a POST (the benchmark's call key), if any. */
  from: string | undefined;
  status: number | undefined;
  startNs: string;
  /** Response headers received. */
  headersNs: string | undefined;
  /** Body read to its end (or the request failed). */
  endNs: string | undefined;
}

export interface SpawnSpan {
  kind: 'spawn';
  program: string;
  startNs: string;
  /** spawn() returned: the starting thread (the program runner's worker) was blocked from startNs to here. */
  spawnedNs: string;
  /** The child closed its pipes and exited. */
  closeNs: string | undefined;
}

export interface NgSpan {
  kind: 'ng';
  /** offer, answer, play media, delete, ping, … */
  command: string;
  /** The ng call-id (the SIP Call-ID of the caller's leg); '' for commands without one. */
  callId: string;
  sentNs: string;
  replyNs: string | undefined;
}

export type ProbeSpan = FetchSpan | SpawnSpan | NgSpan;

const MAX_SPANS = 200_000;
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const file = process.env.CALL_ROUTER_PROBE_FILE;
const spans: ProbeSpan[] = [];
const now = (): string => process.hrtime.bigint().toString();
const keep = (s: ProbeSpan): void => {
  if (spans.length < MAX_SPANS) spans.push(s);
};
// media/cache/process.ts starts sox / espeak-ng from a worker thread, where worker-probe.cjs
// (preloaded with --require, which unlike --import also runs in workers) times each program
// run and posts it here.
const channel = file !== undefined && file !== '' && isMainThread ? new BroadcastChannel('call-router-probe') : undefined;
if (channel !== undefined) {
  channel.onmessage = (m: unknown) => keep((m as { data: ProbeSpan }).data);
  channel.unref();
}

if (file !== undefined && file !== '') {
  const originalFetch = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const body = init?.body;
    const span: FetchSpan = {
      kind: 'fetch',
      url,
      method: init?.method ?? 'GET',
      from: typeof body === 'string' ? (new URLSearchParams(body).get('From') ?? undefined) : undefined,
      status: undefined,
      startNs: now(),
      headersNs: undefined,
      endNs: undefined,
    };
    keep(span);
    let res: Response;
    try {
      res = await originalFetch(input, init);
    } catch (e) {
      span.endNs = now();
      throw e;
    }
    span.headersNs = now();
    span.status = res.status;
    if (res.body === null || NULL_BODY_STATUS.has(res.status)) {
      span.endNs = span.headersNs;
      return res;
    }
    // Pass the body through untouched; note when its last chunk has gone by.
    const timed = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, c) => c.enqueue(chunk),
        flush: () => {
          span.endNs = now();
        },
      }),
    );
    return new Response(timed, { status: res.status, statusText: res.statusText, headers: res.headers });
  };

  // media/cache/process.ts imports `spawn` as an ESM named binding of the
  // builtin: patch the CommonJS export and sync the ESM view of it.
  const cp = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const originalSpawn = cp.spawn;
  const timedSpawn = function (this: unknown, ...args: unknown[]): ChildProcess {
    const span: SpawnSpan = { kind: 'spawn', program: basename(String(args[0])), startNs: now(), spawnedNs: '', closeNs: undefined };
    const child = (originalSpawn as (...a: unknown[]) => ChildProcess).apply(this, args);
    span.spawnedNs = now();
    keep(span);
    child.once('close', () => {
      span.closeNs = now();
    });
    return child;
  };
  cp.spawn = timedSpawn as typeof cp.spawn;
  syncBuiltinESMExports();

  // ng is `<cookie> <bencoded dict>` over UDP and the reply echoes the cookie (media/ng/client.ts).
  const pending = new Map<string, NgSpan>();
  const bencodedString = (text: string, key: string): string | undefined => {
    const m = new RegExp(`${key.length}:${key}(\\d+):`).exec(text);
    if (m === null) return undefined;
    const at = m.index + m[0].length;
    return text.slice(at, at + Number(m[1]));
  };
  const originalSend = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]): void {
    const msg = args[0];
    // An ng request: `<cookie> d...7:command...e`. A resend reuses the cookie: the first send counts.
    if (Buffer.isBuffer(msg) && msg.length < 65_536 && msg.includes('7:command')) {
      const text = msg.toString('latin1');
      const space = text.indexOf(' ');
      const cookie = text.slice(0, space);
      const command = bencodedString(text, 'command');
      if (space > 0 && text[space + 1] === 'd' && command !== undefined && !pending.has(cookie)) {
        if (pending.size >= 10_000) pending.clear(); // replies that never came
        const span: NgSpan = { kind: 'ng', command, callId: bencodedString(text, 'call-id') ?? '', sentNs: now(), replyNs: undefined };
        if (command !== 'ping') keep(span);
        pending.set(cookie, span);
      }
    }
    (originalSend as (...a: unknown[]) => void).apply(this, args);
  } as typeof originalSend;
  const originalEmit = dgram.Socket.prototype.emit;
  dgram.Socket.prototype.emit = function (this: dgram.Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message' && pending.size > 0 && Buffer.isBuffer(args[0])) {
      const msg = args[0];
      const cookie = msg.subarray(0, Math.max(0, msg.indexOf(0x20))).toString('latin1');
      const span = pending.get(cookie);
      if (span !== undefined) {
        span.replyNs = now();
        pending.delete(cookie);
      }
    }
    return (originalEmit as (...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof originalEmit;

  process.on('exit', () => {
    try {
      writeFileSync(file, spans.map((s) => JSON.stringify(s)).join('\n') + '\n');
    } catch {
      /* the benchmark reports the probe file as missing */
    }
  });
}
