/**
 * The state of one call while the router runs it: its leg, the base webhook
 * parameters (with CallStatus kept current), the redirect guard, the summary
 * counters, and the helpers every verb uses (answer, play, fetch the next
 * document, report an error, fire a callback).
 */
import type { Logger } from '../../../regions/core/log.js';
import { isMeshError } from '../../../regions/core/errors.js';
import type { Params } from '../../webhooks/signature.js';
import { DIALECT_ERRORS, dialectCodeOf } from '../errors.js';
import type { FetchError } from '../fetch.js';
import type { CallLeg } from '../leg.js';
import { RedirectGuard } from '../redirects.js';
import type { HttpMethod, TwimlDocument } from '../twiml-types.js';
import { abortable, isStepAborted } from './abort.js';
import type { QueueRegistry } from './queue-registry.js';
import { EXEC_ERRORS, type MediaFile, type RouterFailure, type VerbDeps } from './types.js';

export interface AppTarget {
  url: string;
  method: HttpMethod;
  fallbackUrl?: string;
  fallbackMethod?: HttpMethod;
  /** Per-request timeout of this application's documents. Default 5000 ms (fetch.ts). */
  timeoutMs?: number;
}

export interface Counters {
  documents: number;
  verbs: number;
  errors: RouterFailure[];
}

export type FetchResult = { ok: true; document: TwimlDocument } | { ok: false; failure: RouterFailure } | { ok: false; aborted: true };

/** Errors kept in a run summary (the rest are only logged). */
const MAX_SUMMARY_ERRORS = 50;

export class CallContext {
  /** Base webhook parameters; CallStatus is kept current. */
  readonly params: Params;
  readonly guard: RedirectGuard;
  /** Set when a verb took time on the call (played, paused, waited); cleared by the run loop. */
  progressed = false;
  /** Set when the document hung up (a Hangup verb, here or in a wait application). */
  hungUpByDocument = false;
  /** Times a verb took time on the call (a wait application uses it to tell an empty pass). */
  progressCount = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly leg: CallLeg,
    readonly deps: VerbDeps,
    readonly registry: QueueRegistry,
    readonly app: AppTarget,
    readonly authToken: string,
    params: Params,
    readonly statusCallback: { url: string; method: HttpMethod } | undefined,
    /** Aborts when the leg ends or the router closes. */
    readonly callSignal: AbortSignal,
    readonly counters: Counters,
    readonly log: Logger,
  ) {
    this.params = { ...params };
    if (this.params['CallStatus'] === undefined) this.params['CallStatus'] = leg.answered ? 'in-progress' : 'ringing';
    this.guard = new RedirectGuard({ maxChain: deps.limits.maxRedirectChain, maxTotal: deps.limits.maxRedirectsPerCall });
  }

  /** A context for another leg of this call (a dialed party's whisper): same deps, counters and error reporting. */
  forLeg(leg: CallLeg, params: Params, callSignal: AbortSignal): CallContext {
    return new CallContext(
      leg, this.deps, this.registry, this.app, this.authToken, params, this.statusCallback, callSignal, this.counters,
      this.log.child({ legCallSid: leg.callSid }),
    );
  }

  get callSid(): string {
    return this.leg.callSid;
  }

  get accountSid(): string {
    return this.leg.accountSid;
  }

  get ended(): boolean {
    return this.leg.isEnded || this.callSignal.aborted;
  }

  setStatus(status: string): void {
    this.params['CallStatus'] = status;
  }

  /** Request parameters: the base ones plus `extra`. */
  requestParams(extra: Params = {}): Params {
    return { ...this.params, ...extra };
  }

  markProgress(): void {
    this.progressed = true;
    this.progressCount += 1;
  }

  /** Hang up because the document says so (Hangup). */
  async hangup(): Promise<void> {
    this.hungUpByDocument = true;
    try {
      await this.leg.hangup();
    } catch (e) {
      this.log.warn('router: hang-up failed', { error: e as Error });
    }
  }

  /** Answer an inbound leg before the first verb that needs media. */
  async ensureAnswered(): Promise<void> {
    if (this.leg.answered) return;
    await this.leg.answer();
    if (!this.leg.isEnded) this.setStatus('in-progress');
  }

  /**
   * Play a file to the party. False when the media engine refused (reported,
   * the verb goes on); aborts end the playback early and count as played.
   */
  async play(file: MediaFile, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return true;
    try {
      await this.leg.play(file.path, file.durationMs, signal);
    } catch (e) {
      if (signal.aborted) return true;
      this.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `playback failed: ${(e as Error).message}`, '');
      return false;
    }
    if (file.durationMs > 0) this.markProgress();
    return true;
  }

  /**
   * Fetch a document through fetchInstructions (the app's fallback applies).
   * A step abort (hang-up, API redirect) stops the wait, not the request.
   */
  async fetch(url: string, method: HttpMethod, extra: Params, signal: AbortSignal): Promise<FetchResult> {
    if (this.counters.documents >= this.deps.limits.maxDocumentsPerCall) {
      return {
        ok: false,
        failure: { code: EXEC_ERRORS.TOO_MANY_REDIRECTS, message: `more than ${this.deps.limits.maxDocumentsPerCall} documents in one call`, url },
      };
    }
    const fallback = this.app.fallbackUrl === undefined || this.app.fallbackUrl === ''
      ? undefined
      : { url: this.app.fallbackUrl, method: this.app.fallbackMethod ?? 'POST' };
    const request = this.deps.fetchDocument({
      primary: { url, method },
      fallback,
      params: this.requestParams(extra),
      authToken: this.authToken,
      ...(this.app.timeoutMs === undefined ? {} : { timeoutMs: this.app.timeoutMs }),
      breakers: this.deps.breakers,
      ...(this.deps.limits.twiml === undefined ? {} : { twiml: this.deps.limits.twiml }),
    });
    try {
      const r = await abortable(request, signal);
      this.counters.documents += 1;
      if (r.source === 'fallback') {
        const pe = r.primaryError;
        this.log.warn('router: primary document failed, fallback used', { url, error: pe?.message, code: pe?.code });
        if (pe !== undefined) this.reportError(pe.code, pe.message, pe.url);
      }
      return { ok: true, document: r.document };
    } catch (e) {
      if (isStepAborted(e)) return { ok: false, aborted: true };
      return { ok: false, failure: failureOf(e, url) };
    }
  }

  /** Bound redirect chains; a failure when the chain is too long or loops. */
  followRedirect(url: string, method: HttpMethod): RouterFailure | undefined {
    if (this.progressed) {
      this.guard.noteProgress();
      this.progressed = false;
    }
    try {
      this.guard.follow(url, method);
      return undefined;
    } catch (e) {
      return { code: EXEC_ERRORS.TOO_MANY_REDIRECTS, message: (e as Error).message, url };
    }
  }

  /** Record an error in the summary and report it to the call's status callback (ErrorCode/ErrorUrl/ErrorMessage). */
  reportError(code: number, message: string, url: string): void {
    if (this.counters.errors.length < MAX_SUMMARY_ERRORS) this.counters.errors.push({ code, message, url });
    this.log.warn('router: application error', { code, message, url });
    const cb = this.statusCallback;
    if (cb === undefined) return;
    this.callback(cb.url, cb.method, { ErrorCode: String(code), ErrorUrl: url, ErrorMessage: message.slice(0, 512) });
  }

  /** Fire an action-less callback (its answer is not a document); tracked so the run waits for it. */
  callback(url: string, method: HttpMethod, extra: Params): void {
    const p = this.deps
      .webhook({ method, url, params: this.requestParams(extra), authToken: this.authToken, timeoutMs: this.deps.limits.callbackTimeoutMs })
      .then((r) => {
        if (!r.ok) this.log.warn('router: callback failed', { url, status: r.status, error: r.error });
      })
      .catch((e: unknown) => this.log.warn('router: callback failed', { url, error: e as Error }));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Wait for the callbacks fired so far. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** The failure carried by fetchInstructions' error (or any other error). */
export function failureOf(e: unknown, url: string): RouterFailure {
  if (isMeshError(e)) {
    const pe = e.detail?.['primaryError'] as FetchError | undefined;
    return {
      code: dialectCodeOf(e) ?? pe?.code ?? DIALECT_ERRORS.HTTP_CONNECTION_FAILURE,
      message: e.message,
      url: pe?.url ?? url,
    };
  }
  return { code: EXEC_ERRORS.INTERNAL_FAILURE, message: (e as Error)?.message ?? String(e), url };
}
