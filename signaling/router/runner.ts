/**
 * The call router's verb executor: for each call it fetches the
 * application's instruction document (fetch.ts: primary, fallback, signing,
 * per-host breakers) and carries out its verbs on the call's leg (leg.ts),
 * following action URLs and Redirects, until the call ends.
 *
 * Every wait is abortable: the leg hanging up aborts the call's signal, an
 * API redirect aborts the current step (a verb or a fetch) and the run goes
 * on with the new URL, and `close()` hangs up every call. A document that
 * cannot be had (both URLs failed), a redirect loop, or a verb out of place
 * takes the error path: a short spoken error, hang-up, and a report to the
 * call's status callback (ErrorCode, ErrorUrl, ErrorMessage). `run()` never
 * rejects.
 */
import type { NodeLatencyMetrics } from '../../regions/core/metrics.js';
import type { Logger } from '../../regions/core/log.js';
import type { DestinationPolicy } from '../../regions/net/destination-policy.js';
import { sendWebhook, type WebhookOptions, type WebhookResult } from '../webhooks/http.js';
import type { Params } from '../webhooks/signature.js';
import { fetchInstructions, type FetchedInstructions, type FetchInstructionsOptions } from './fetch.js';
import { HostBreakers } from './host-breakers.js';
import type { CallLeg, CallQueues, LegDialer, RecordingSink } from './leg.js';
import type { HttpMethod, TwimlDocument, Verb } from './twiml-types.js';
import { abortable, isStepAborted, linkSignals, reasonOf, type Linked } from './verbs/abort.js';
import { CallContext, type AppTarget, type Counters } from './verbs/context.js';
import { hangupQuietly } from './verbs/dial-common.js';
import { runDial } from './verbs/dial.js';
import { runEnqueue } from './verbs/enqueue.js';
import { runGather } from './verbs/gather.js';
import { runPause, runPlay, runSay } from './verbs/media.js';
import { QueueRegistry } from './verbs/queue-registry.js';
import { runRecord } from './verbs/record.js';
import { EXEC_ERRORS, resolveLimits, type Outcome, type RouterFailure, type RouterLimits, type RouterMedia, type VerbDeps } from './verbs/types.js';

export type { AppTarget } from './verbs/context.js';
export type { MediaFile, RouterFailure, RouterLimits, RouterMedia } from './verbs/types.js';

export interface RouterCall {
  leg: CallLeg;
  authToken: string;
  app: AppTarget;
  /** Base webhook params (CallSid, AccountSid, From, To, CallStatus, Direction, ApiVersion, ...). The runner keeps CallStatus current (in its own copy). */
  params: Params;
  /** Where errors are reported (the call's status callback), if any. */
  statusCallback?: { url: string; method: HttpMethod };
}

export interface CallRouterDeps {
  media: RouterMedia;
  dialer: LegDialer;
  queues: CallQueues;
  recordings: RecordingSink;
  log: Logger;
  /** Default: fetchInstructions from ./fetch.js. Injected in unit tests. */
  fetchDocument?: (o: FetchInstructionsOptions) => Promise<FetchedInstructions>;
  /** Default: sendWebhook. Used for action-less callbacks (recordingStatusCallback, error reports). */
  webhook?: (o: WebhookOptions) => Promise<WebhookResult>;
  /** Default: a new HostBreakers with its defaults (share one per process). */
  breakers?: HostBreakers;
  limits?: RouterLimits;
  /** Where documents, action URLs and callbacks may point (webhooks.*); applied to the default fetchDocument and webhook. Default: anywhere. */
  webhookPolicy?: DestinationPolicy;
  /** The node's webhook latency histogram: each document fetch (primary and fallback together) is observed. */
  latency?: Pick<NodeLatencyMetrics, 'observeWebhook'>;
}

/**
 * How a run ended:
 * - `completed`: the document ran out of verbs (the router hung up);
 * - `hangup`: a Hangup verb (in the document or a wait application);
 * - `rejected`: a Reject verb;
 * - `caller-hangup`: the leg ended on its own (the party hung up, or it failed);
 * - `error`: the error path (no document, redirect loop, misplaced verb, internal failure);
 * - `closed`: the router was closed;
 * - `refused`: not run (router closing, at its call limit, or the call already running here).
 */
export type RunEnd = 'completed' | 'hangup' | 'rejected' | 'caller-hangup' | 'error' | 'closed' | 'refused';

export interface RunSummary {
  callSid: string;
  ended: RunEnd;
  /** Documents fetched and parsed (wait-application passes and notifications included). */
  documents: number;
  /** Verbs run (verbs of wait applications, announcements and whispers included; Gather's nested ones not). */
  verbs: number;
  /** Errors reported (at most 50 kept). */
  errors: RouterFailure[];
  /** CallStatus at the end (completed, busy, no-answer, canceled, …). */
  callStatus: string;
  durationMs: number;
}

/** What the caller hears when no document can be had. */
export const ERROR_SPEECH = { text: 'An application error has occurred. Goodbye.', voice: 'woman', language: 'en-US' } as const;

interface RunState {
  ctx: CallContext;
  callAbort: AbortController;
  /** The step under way (a fetch or a verb): an API redirect aborts it. */
  step: Linked | undefined;
  pendingRedirect: { url: string; method: HttpMethod } | undefined;
  /** False once the run is finishing (error path, hang-up): redirects are refused. */
  accepting: boolean;
  end: RunEnd | undefined;
  done: Promise<RunSummary> | undefined;
}

type Target = { url: string; method: HttpMethod; params: Params };
type DocEnd = Outcome | { kind: 'end-of-document' } | { kind: 'api-redirect' };

/** The fetch, with its time observed in the node's histogram (failed fetches too: a slow failure is what operators look for). */
function timedFetch(
  fetch: (o: FetchInstructionsOptions) => Promise<FetchedInstructions>,
  latency: Pick<NodeLatencyMetrics, 'observeWebhook'> | undefined,
): (o: FetchInstructionsOptions) => Promise<FetchedInstructions> {
  if (latency === undefined) return fetch;
  return async (o) => {
    const started = performance.now();
    try {
      const r = await fetch(o);
      latency.observeWebhook('instructions', true, performance.now() - started);
      return r;
    } catch (e) {
      latency.observeWebhook('instructions', false, performance.now() - started);
      throw e;
    }
  };
}

export class CallRouter {
  private readonly deps: VerbDeps;
  private readonly calls = new Map<string, RunState>();
  private readonly registry = new QueueRegistry();
  private closing: Promise<void> | undefined;

  constructor(deps: CallRouterDeps) {
    const policy = deps.webhookPolicy;
    this.deps = {
      media: deps.media,
      dialer: deps.dialer,
      queues: deps.queues,
      recordings: deps.recordings,
      fetchDocument: timedFetch(deps.fetchDocument ?? ((o) => fetchInstructions({ ...o, policy: o.policy ?? policy })), deps.latency),
      webhook: deps.webhook ?? ((o) => sendWebhook({ ...o, policy: o.policy ?? policy })),
      breakers: deps.breakers ?? new HostBreakers(),
      limits: resolveLimits(deps.limits),
      log: deps.log,
    };
  }

  /** Calls running now. */
  get active(): number {
    return this.calls.size;
  }

  /** Calls waiting in a queue on this router now (not those taken by a Dial → Queue). */
  get waiting(): number {
    return this.registry.size;
  }

  /** Run the app on the leg until the call ends; never rejects. */
  run(call: RouterCall): Promise<RunSummary> {
    const started = Date.now();
    const sid = call.leg.callSid;
    if (this.calls.has(sid)) {
      // The same call twice: leave the leg to the run that owns it.
      this.deps.log.warn('router: call already running here', { callSid: sid });
      return Promise.resolve(refused(sid, started, String(call.params['CallStatus'] ?? '')));
    }
    if (this.closing !== undefined || this.calls.size >= this.deps.limits.maxActiveCalls) {
      this.deps.log.warn('router: call refused', { callSid: sid, closing: this.closing !== undefined, active: this.calls.size });
      return (async () => {
        try {
          if (call.leg.answered) await call.leg.hangup();
          else await call.leg.reject('busy');
        } catch (e) {
          this.deps.log.warn('router: refusing the call failed', { callSid: sid, error: e as Error });
        }
        return refused(sid, started, 'busy');
      })();
    }

    const callAbort = new AbortController();
    const counters: Counters = { documents: 0, verbs: 0, errors: [] };
    const log = this.deps.log.child({ callSid: sid });
    const ctx = new CallContext(call.leg, this.deps, this.registry, call.app, call.authToken, call.params, call.statusCallback, callAbort.signal, counters, log);
    const st: RunState = { ctx, callAbort, step: undefined, pendingRedirect: undefined, accepting: true, end: undefined, done: undefined };
    this.calls.set(sid, st);

    const onEnded = (): void => {
      const s = String(ctx.params['CallStatus'] ?? '');
      if (s === 'ringing') ctx.setStatus('canceled');
      else if (s === 'in-progress') ctx.setStatus('completed');
      if (!callAbort.signal.aborted) callAbort.abort('ended');
    };
    void call.leg.ended.then(onEnded, onEnded);
    if (call.leg.isEnded) onEnded();

    st.done = this.execute(st)
      .catch((e: unknown) => {
        log.error('router: run failed', { error: e as Error });
        if (counters.errors.length < 50) counters.errors.push({ code: EXEC_ERRORS.INTERNAL_FAILURE, message: (e as Error)?.message ?? String(e), url: '' });
        st.end ??= 'error';
      })
      .then(() => this.finish(st, started));
    return st.done;
  }

  /** API redirect of a running call: abort the current verb (and any wait/bridge), fetch url, go on. false if not running here. */
  redirect(callSid: string, url: string, method: HttpMethod): boolean {
    const st = this.calls.get(callSid);
    if (st === undefined || !st.accepting || st.ctx.ended) return false;
    st.pendingRedirect = { url, method };
    st.step?.abort('redirect');
    return true;
  }

  /** Hang up every running call and wait for them; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const all = [...this.calls.values()];
      for (const st of all) {
        st.accepting = false;
        if (!st.callAbort.signal.aborted) st.callAbort.abort('closed');
        void hangupQuietly(st.ctx.leg);
      }
      await Promise.allSettled(all.map((st) => st.done));
    })();
    return this.closing;
  }

  // ---- the run loop ---------------------------------------------------------

  private async execute(st: RunState): Promise<void> {
    const { ctx } = st;
    let target: Target = { url: ctx.app.url, method: ctx.app.method, params: {} };
    for (;;) {
      const fetched = await this.inStep(st, (signal) => ctx.fetch(target.url, target.method, target.params, signal));
      if (!fetched.ok) {
        if ('aborted' in fetched) {
          const next = this.takeRedirect(st);
          if (next !== undefined) {
            target = next;
            continue;
          }
          return this.stopped(st);
        }
        return this.fail(st, fetched.failure);
      }
      const out = await this.runDocument(st, fetched.document);
      switch (out.kind) {
        case 'api-redirect':
        case 'aborted': {
          const next = this.takeRedirect(st);
          if (next === undefined) return this.stopped(st);
          target = next;
          continue;
        }
        case 'next':
        case 'end-of-document':
          if (ctx.ended) return this.stopped(st);
          st.accepting = false;
          await hangupQuietly(ctx.leg);
          st.end = 'completed';
          return;
        case 'hangup':
          st.end = 'hangup';
          return;
        case 'rejected':
          st.end = 'rejected';
          return;
        case 'fail':
          return this.fail(st, out.failure);
        case 'goto': {
          if (ctx.ended) {
            // The dialect still reports the outcome (Dial, Record, Enqueue); nothing is run any more.
            await ctx.fetch(out.url, out.method, out.params, new AbortController().signal);
            return this.stopped(st);
          }
          const loop = ctx.followRedirect(out.url, out.method);
          if (loop !== undefined) return this.fail(st, loop);
          target = out;
          continue;
        }
      }
    }
  }

  private async runDocument(st: RunState, doc: TwimlDocument): Promise<DocEnd> {
    const { ctx } = st;
    for (const verb of doc.verbs) {
      if (st.pendingRedirect !== undefined && !ctx.ended) return { kind: 'api-redirect' };
      if (ctx.ended) return { kind: 'aborted' };
      ctx.counters.verbs += 1;
      const out = await this.inStep(st, (signal) =>
        this.runVerb(ctx, verb, signal, doc).catch((e: unknown): Outcome => {
          if (signal.aborted || isStepAborted(e)) return { kind: 'aborted' };
          ctx.log.error('router: verb failed', { verb: verb.verb, error: e as Error });
          return { kind: 'fail', failure: { code: EXEC_ERRORS.INTERNAL_FAILURE, message: `<${verb.verb}> failed: ${(e as Error)?.message ?? String(e)}`, url: doc.documentUrl ?? '' } };
        }),
      );
      if (st.pendingRedirect !== undefined && !ctx.ended) return { kind: 'api-redirect' };
      if (out.kind !== 'next') return out;
    }
    return { kind: 'end-of-document' };
  }

  private async runVerb(ctx: CallContext, v: Verb, signal: AbortSignal, doc: TwimlDocument): Promise<Outcome> {
    switch (v.verb) {
      case 'Say':
        await runSay(ctx, v, signal);
        return signal.aborted ? { kind: 'aborted' } : { kind: 'next' };
      case 'Play':
        await runPlay(ctx, v, signal);
        return signal.aborted ? { kind: 'aborted' } : { kind: 'next' };
      case 'Pause':
        await runPause(ctx, v, signal);
        return signal.aborted ? { kind: 'aborted' } : { kind: 'next' };
      case 'Gather':
        return runGather(ctx, v, signal, doc.documentUrl);
      case 'Record':
        return runRecord(ctx, v, signal);
      case 'Dial':
        return runDial(ctx, v, signal);
      case 'Enqueue':
        return runEnqueue(ctx, v, signal);
      case 'Redirect':
        return { kind: 'goto', url: v.url, method: v.method, params: {} };
      case 'Leave':
        // Outside a wait application there is no queue to leave: nothing to do.
        return { kind: 'next' };
      case 'Hangup':
        await ctx.hangup();
        return { kind: 'hangup' };
      case 'Reject':
        if (ctx.leg.answered) {
          await hangupQuietly(ctx.leg);
        } else {
          // The dialect's final status: busy for "busy", no-answer for "rejected".
          ctx.setStatus(v.reason === 'busy' ? 'busy' : 'no-answer');
          await ctx.leg.reject(v.reason);
        }
        return { kind: 'rejected' };
    }
  }

  /** Run one step (a fetch or a verb) under its own signal, which `redirect()` aborts. */
  private async inStep<T>(st: RunState, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const step = linkSignals(st.ctx.callSignal);
    st.step = step;
    try {
      return await fn(step.signal);
    } finally {
      step.dispose();
      if (st.step === step) st.step = undefined;
    }
  }

  private takeRedirect(st: RunState): Target | undefined {
    const r = st.pendingRedirect;
    st.pendingRedirect = undefined;
    if (r === undefined || st.ctx.ended || !st.accepting) return undefined;
    // A redirect from the API is a new start, not a step of a redirect chain.
    st.ctx.guard.noteProgress();
    st.ctx.progressed = false;
    return { url: r.url, method: r.method, params: {} };
  }

  private stopped(st: RunState): void {
    st.accepting = false;
    st.end = reasonOf(st.ctx.callSignal) === 'closed' ? 'closed' : st.ctx.hungUpByDocument ? 'hangup' : 'caller-hangup';
  }

  /** The error path: report, a short spoken error, hang up. */
  private async fail(st: RunState, failure: RouterFailure): Promise<void> {
    const { ctx } = st;
    st.accepting = false;
    st.end = 'error';
    ctx.reportError(failure.code, failure.message, failure.url);
    if (ctx.ended) return;
    try {
      await ctx.ensureAnswered();
      const file = await abortable(this.deps.media.speech(ERROR_SPEECH.text, ERROR_SPEECH.voice, ERROR_SPEECH.language), ctx.callSignal);
      if (!ctx.callSignal.aborted) await ctx.leg.play(file.path, file.durationMs, ctx.callSignal);
    } catch (e) {
      if (!isStepAborted(e)) ctx.log.warn('router: the spoken error could not be played', { error: e as Error });
    }
    await hangupQuietly(ctx.leg);
  }

  private async finish(st: RunState, started: number): Promise<RunSummary> {
    const { ctx } = st;
    st.accepting = false;
    if (!ctx.leg.isEnded) await hangupQuietly(ctx.leg);
    const s = String(ctx.params['CallStatus'] ?? '');
    if (s === 'in-progress') ctx.setStatus('completed');
    else if (s === 'ringing') ctx.setStatus('canceled');
    try {
      await ctx.settle();
    } finally {
      this.calls.delete(ctx.callSid);
    }
    return {
      callSid: ctx.callSid,
      ended: st.end ?? 'error',
      documents: ctx.counters.documents,
      verbs: ctx.counters.verbs,
      errors: ctx.counters.errors,
      callStatus: String(ctx.params['CallStatus'] ?? ''),
      durationMs: Date.now() - started,
    };
  }
}

function refused(callSid: string, started: number, callStatus: string): RunSummary {
  return { callSid, ended: 'refused', documents: 0, verbs: 0, errors: [], callStatus, durationMs: Date.now() - started };
}
