/**
 * Fakes for the CallRouter unit tests: a CallLeg that records what is done to
 * it (playback takes its duration on vitest's fake timers), a dialer, queues,
 * a recording sink, a media cache, and a fetchDocument that serves parsed
 * documents by URL with the same primary → fallback contract as
 * fetchInstructions.
 */
import { vi } from 'vitest';
import { silentLogger } from '../../../../regions/core/log.js';
import { MeshError } from '../../../../regions/core/errors.js';
import { DIALECT_ERRORS, dialectCodeOf, routerError } from '../../../../signaling/router/errors.js';
import type { FetchedInstructions, FetchInstructionsOptions } from '../../../../signaling/router/fetch.js';
import type {
  CallLeg, CallQueues, DialOutcome, DialRequest, LegDialer, LegEndReason, MediaEndpoint, QueuePlace, RecordingHandle, RecordingResult,
  RecordingSink,
} from '../../../../signaling/router/leg.js';
import { CallRouter, type RouterCall, type RouterLimits, type RunSummary } from '../../../../signaling/router/runner.js';
import { parseTwiml } from '../../../../signaling/router/twiml.js';
import type { HttpMethod } from '../../../../signaling/router/twiml-types.js';
import type { WebhookOptions, WebhookResult } from '../../../../signaling/webhooks/http.js';
import type { Params } from '../../../../signaling/webhooks/signature.js';

export const APP = 'https://app.test/voice';
export const FALLBACK = 'https://fallback.test/voice';
export const STATUS_CB = 'https://app.test/status';

let nextPort = 30000;

export interface PlayRecord {
  file: string;
  durationMs: number;
  at: number;
  /** Set when playback ended: 'played' (full length) or 'aborted'. */
  result?: 'played' | 'aborted';
}

export class FakeLeg implements CallLeg {
  readonly callId: string;
  answered: boolean;
  isEnded = false;
  endReason: LegEndReason | undefined;
  readonly ended: Promise<LegEndReason>;
  readonly events: string[] = [];
  readonly plays: PlayRecord[] = [];
  readonly sentDigits: string[] = [];
  readonly port = nextPort++;
  peer: MediaEndpoint | undefined;
  recording: { startedAt: number; stopped: boolean } | undefined;
  /** Make the next calls fail (tests of the error paths). */
  failAnswer = false;
  failPlay = false;
  failConnect = false;
  private resolveEnded!: (r: LegEndReason) => void;
  private readonly listeners = new Set<(d: string) => void>();

  constructor(
    readonly callSid: string,
    opts: { answered?: boolean; accountSid?: string } = {},
  ) {
    this.callId = `${callSid}@fake`;
    this.answered = opts.answered ?? false;
    this.accountSid = opts.accountSid ?? 'AC1';
    this.ended = new Promise((r) => {
      this.resolveEnded = r;
    });
  }

  readonly accountSid: string;

  async answer(): Promise<void> {
    if (this.failAnswer) throw new Error('answer failed');
    if (this.answered) return;
    this.events.push('answer');
    this.answered = true;
  }

  async reject(reason: 'busy' | 'rejected'): Promise<void> {
    this.events.push(`reject:${reason}`);
    this.end('rejected');
  }

  async hangup(): Promise<void> {
    if (this.isEnded) return;
    this.events.push('hangup');
    this.end('local-hangup');
  }

  /** The party hangs up. */
  remoteHangup(): void {
    if (this.isEnded) return;
    this.events.push('remote-hangup');
    this.end('remote-hangup');
  }

  play(file: string, durationMs: number, signal?: AbortSignal): Promise<void> {
    if (this.failPlay) return Promise.reject(new Error('engine refused'));
    const rec: PlayRecord = { file, durationMs, at: Date.now() };
    this.plays.push(rec);
    this.events.push(`play:${file}`);
    return new Promise((resolve) => {
      const finish = (result: 'played' | 'aborted'): void => {
        if (rec.result !== undefined) return;
        rec.result = result;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => finish('played'), durationMs);
      if (signal?.aborted) finish('aborted');
      signal?.addEventListener('abort', () => finish('aborted'), { once: true });
      void this.ended.then(() => finish('aborted'));
    });
  }

  async sendDigits(digits: string): Promise<void> {
    this.sentDigits.push(digits);
    this.events.push(`digits:${digits}`);
  }

  onDigit(listener: (digit: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get digitListeners(): number {
    return this.listeners.size;
  }

  /** The party presses keys. */
  press(keys: string): void {
    for (const k of keys) for (const l of [...this.listeners]) l(k);
  }

  async startRecording(): Promise<RecordingHandle> {
    this.events.push('record:start');
    const rec = { startedAt: Date.now(), stopped: false };
    this.recording = rec;
    let result: RecordingResult | undefined;
    return {
      stop: async () => {
        if (result !== undefined) return result;
        rec.stopped = true;
        this.events.push('record:stop');
        const durationMs = Date.now() - rec.startedAt;
        result = { path: `/rec/${this.callSid}.wav`, durationMs, bytes: 44 + durationMs * 16 };
        return result;
      },
    };
  }

  mediaEndpoint(): MediaEndpoint {
    return { address: '127.0.0.9', port: this.port };
  }

  async connectMedia(peer: MediaEndpoint | undefined): Promise<void> {
    if (this.failConnect && peer !== undefined) throw new Error('connect failed');
    this.peer = peer;
    this.events.push(`connect:${peer === undefined ? 'none' : peer.port}`);
  }

  private end(reason: LegEndReason): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.endReason = reason;
    this.resolveEnded(reason);
  }
}

export class FakeMedia {
  readonly requests: string[] = [];
  readonly failUrls = new Set<string>();
  failSpeech = false;
  /** Say durations: 1 s per Say text unless set here. */
  readonly speechMs = new Map<string, number>();
  urlMs = 2000;

  async speech(text: string, voice: string, language: string): Promise<{ path: string; durationMs: number }> {
    this.requests.push(`speech:${text}|${voice}|${language}`);
    if (this.failSpeech) throw new Error('espeak failed');
    return { path: `/tts/${text}`, durationMs: this.speechMs.get(text) ?? 1000 };
  }

  async url(url: string): Promise<{ path: string; durationMs: number }> {
    this.requests.push(`url:${url}`);
    if (this.failUrls.has(url)) throw new Error('HTTP 404');
    return { path: `/media/${new URL(url).pathname.slice(1)}`, durationMs: this.urlMs };
  }

  async beep(): Promise<{ path: string; durationMs: number }> {
    this.requests.push('beep');
    return { path: '/beep.wav', durationMs: 200 };
  }
}

/** How a dialed target behaves. */
export type DialPlan =
  | { after: number; answer: FakeLeg; ignoreAbort?: boolean }
  | { after: number; status: 'busy' | 'no-answer' | 'failed' }
  | { never: true };

export class FakeDialer implements LegDialer {
  readonly requests: DialRequest[] = [];
  readonly plans = new Map<string, DialPlan>();
  /** Attempts whose signal was aborted (cancelled). */
  readonly cancelled: string[] = [];

  dial(req: DialRequest): Promise<DialOutcome> {
    this.requests.push(req);
    const plan = this.plans.get(req.to) ?? { after: 0, status: 'failed' };
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        this.cancelled.push(req.to);
        if (timer !== undefined) clearTimeout(timer);
        resolve({ status: 'canceled' });
      };
      if ('never' in plan) {
        // A dialer that ignores its signal and never answers.
        return;
      }
      timer = setTimeout(() => {
        req.signal.removeEventListener('abort', onAbort);
        resolve('answer' in plan ? { status: 'answered', leg: plan.answer } : { status: plan.status });
      }, plan.after);
      // ignoreAbort: the answer crosses the cancel (a race the router must handle).
      if ('ignoreAbort' in plan && plan.ignoreAbort === true) return;
      if (req.signal.aborted) onAbort();
      else req.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** In-memory CallQueues with the same contract as the Redis one. */
export class FakeQueues implements CallQueues {
  readonly log: string[] = [];
  maxSize = 100;
  failEnqueue = false;
  private readonly queues = new Map<string, { sid: string; members: { callSid: string; at: number }[] }>();
  private n = 0;

  async enqueue(accountSid: string, queueName: string, callSid: string): Promise<QueuePlace> {
    this.log.push(`enqueue:${queueName}:${callSid}`);
    if (this.failEnqueue) throw new Error('redis down');
    const k = `${accountSid}/${queueName}`;
    let q = this.queues.get(k);
    if (q === undefined) {
      q = { sid: `QU${++this.n}`, members: [] };
      this.queues.set(k, q);
    }
    if (q.members.length >= this.maxSize) throw new MeshError('CONFLICT', 'queue full', { detail: { queueFull: true } });
    q.members.push({ callSid, at: Date.now() });
    return { queueSid: q.sid, position: q.members.length, size: q.members.length };
  }

  async position(queueSid: string, callSid: string): Promise<QueuePlace | undefined> {
    for (const q of this.queues.values()) {
      if (q.sid !== queueSid) continue;
      const i = q.members.findIndex((m) => m.callSid === callSid);
      return i < 0 ? undefined : { queueSid, position: i + 1, size: q.members.length };
    }
    return undefined;
  }

  async leave(queueSid: string, callSid: string): Promise<void> {
    this.log.push(`leave:${queueSid}:${callSid}`);
    for (const q of this.queues.values()) if (q.sid === queueSid) q.members = q.members.filter((m) => m.callSid !== callSid);
  }

  async dequeueFront(accountSid: string, queueName: string): Promise<{ queueSid: string; callSid: string; waitedMs: number } | undefined> {
    const q = this.queues.get(`${accountSid}/${queueName}`);
    const m = q?.members.shift();
    if (q === undefined || m === undefined) return undefined;
    this.log.push(`dequeue:${queueName}:${m.callSid}`);
    return { queueSid: q.sid, callSid: m.callSid, waitedMs: Date.now() - m.at };
  }

  /** Put a call in the queue as another router would (not registered here). */
  async addForeign(accountSid: string, queueName: string, callSid: string): Promise<void> {
    await this.enqueue(accountSid, queueName, callSid);
  }

  size(accountSid: string, queueName: string): number {
    return this.queues.get(`${accountSid}/${queueName}`)?.members.length ?? 0;
  }
}

export class FakeRecordings implements RecordingSink {
  readonly saved: { callSid: string; source: string; result: RecordingResult }[] = [];
  fail = false;

  async save(r: { accountSid: string; callSid: string; source: 'RecordVerb' | 'DialVerb'; result: RecordingResult }): Promise<{ recordingSid: string; url: string }> {
    if (this.fail) throw new Error('store down');
    this.saved.push({ callSid: r.callSid, source: r.source, result: r.result });
    const sid = `RE${this.saved.length}`;
    return { recordingSid: sid, url: `https://api.test/Recordings/${sid}` };
  }
}

/** A document source: XML text, a function of the request params, or a failure. */
export type DocSource = string | ((params: Params) => string) | { status: number } | { delayMs: number; xml: string };

export interface DocRequest {
  url: string;
  method: HttpMethod;
  params: Params;
}

export function createHarness(opts: { limits?: RouterLimits } = {}) {
  const docs = new Map<string, DocSource>();
  const requests: DocRequest[] = [];
  const webhooks: WebhookOptions[] = [];
  const media = new FakeMedia();
  const dialer = new FakeDialer();
  const queues = new FakeQueues();
  const recordings = new FakeRecordings();

  async function attempt(url: string, method: HttpMethod, params: Params): Promise<{ ok: true; xml: string } | { ok: false; code: number; message: string }> {
    requests.push({ url, method, params });
    const src = docs.get(url);
    if (src === undefined) return { ok: false, code: DIALECT_ERRORS.HTTP_CONNECTION_FAILURE, message: 'connect ECONNREFUSED' };
    if (typeof src === 'string') return { ok: true, xml: src };
    if (typeof src === 'function') return { ok: true, xml: src(params) };
    if ('status' in src) return { ok: false, code: DIALECT_ERRORS.HTTP_RETRIEVAL_FAILURE, message: `HTTP ${src.status}` };
    await new Promise((r) => setTimeout(r, src.delayMs));
    return { ok: true, xml: src.xml };
  }

  async function one(url: string, method: HttpMethod, params: Params) {
    const r = await attempt(url, method, params);
    if (!r.ok) return { ok: false as const, error: { code: r.code as 11200, message: r.message, url } };
    try {
      return { ok: true as const, document: parseTwiml(r.xml, { documentUrl: url }) };
    } catch (e) {
      return { ok: false as const, error: { code: (dialectCodeOf(e) ?? 12100) as 12100, message: (e as Error).message, url } };
    }
  }

  /** Same contract as fetchInstructions: primary, then fallback with ErrorCode/ErrorUrl, else a MeshError. */
  async function fetchDocument(o: FetchInstructionsOptions): Promise<FetchedInstructions> {
    const first = await one(o.primary.url, o.primary.method, o.params);
    if (first.ok) return { document: first.document, source: 'primary', ms: 0 };
    if (o.fallback === undefined) throw routerError(first.error.code, `instructions unavailable: ${first.error.message}`, { primaryError: first.error });
    const second = await one(o.fallback.url, o.fallback.method, { ...o.params, ErrorCode: String(first.error.code), ErrorUrl: first.error.url });
    if (second.ok) return { document: second.document, source: 'fallback', primaryError: first.error, ms: 0 };
    throw routerError(first.error.code, `instructions unavailable: ${first.error.message}; ${second.error.message}`, {
      primaryError: first.error,
      fallbackError: second.error,
    });
  }

  async function webhook(o: WebhookOptions): Promise<WebhookResult> {
    webhooks.push(o);
    return { ok: true, status: 204, body: '', error: undefined, ms: 1 };
  }

  const router = new CallRouter({
    media, dialer, queues, recordings, log: silentLogger, fetchDocument, webhook,
    ...(opts.limits === undefined ? {} : { limits: opts.limits }),
  });

  function call(leg: FakeLeg, o: { fallback?: boolean; statusCallback?: boolean; url?: string } = {}): RouterCall {
    return {
      leg,
      authToken: 'token',
      app: { url: o.url ?? APP, method: 'POST', ...(o.fallback === true ? { fallbackUrl: FALLBACK, fallbackMethod: 'POST' as const } : {}) },
      params: { CallSid: leg.callSid, AccountSid: leg.accountSid, From: '+15550001111', To: '+15550002222', Direction: 'inbound', ApiVersion: '2010-04-01' },
      ...(o.statusCallback === false ? {} : { statusCallback: { url: STATUS_CB, method: 'POST' as const } }),
    };
  }

  /** Requests made to one URL. */
  function requestsTo(url: string): DocRequest[] {
    return requests.filter((r) => r.url === url);
  }

  /** Error reports sent to the status callback. */
  function errorReports(): Params[] {
    return webhooks.filter((w) => w.url === STATUS_CB).map((w) => w.params);
  }

  return { docs, requests, webhooks, media, dialer, queues, recordings, router, call, requestsTo, errorReports };
}

/** Advance fake time in steps until `p` settles (at most `maxMs` of fake time). */
export async function settle<T>(p: Promise<T>, maxMs = 3_600_000, stepMs = 100): Promise<T> {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  for (let t = 0; t <= maxMs && !done; t += stepMs) await vi.advanceTimersByTimeAsync(stepMs);
  if (!done) throw new Error(`still running after ${maxMs} ms of fake time`);
  return p;
}

/** Advance fake time by `ms`, letting promises run. */
export async function tick(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

export function xml(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${body}</Response>`;
}

export type { RunSummary };
